"""The data dictionary: the consortium's harmonized variables, versioned."""
