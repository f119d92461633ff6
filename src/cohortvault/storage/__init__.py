"""Encrypted storage: area keys under the master key, the blob store, and area paths.

Shared infrastructure: imports no domain app. The files domain builds its service on it.
"""
