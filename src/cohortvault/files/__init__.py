"""Files in areas: list, read, write, move, delete, versions and self-service restore."""
