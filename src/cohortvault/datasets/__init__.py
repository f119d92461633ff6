"""Versioned site datasets: the harmonized tabular data of each study of each site."""
