"""Project deliveries: the data manager's extraction of granted variables from site dataset
versions, merged and transformed, written immutably into ``projects/<code>/deliveries/NNN/``."""
