"""Extraction: the granted variables of the named dataset versions, transformed, merged
across sites and written as a delivery (CSV and Parquet with a Frictionless Data Package,
a codebook and a provenance manifest).

Pure Python over Arrow and DuckDB; no Django. The data manager's workflow calls::

    spec = Extraction(variables=..., sources=..., transforms=..., layout="long")
    result = extract(spec, tables, dictionary)     # tables: {(site, study): pa.Table}
    paths = write_delivery(result, folder, provenance={...})
"""

from cohortvault.extraction.delivery import delivery_diff, write_delivery
from cohortvault.extraction.engine import Result, extract
from cohortvault.extraction.rows import Note
from cohortvault.extraction.spec import Extraction, Source, SpecError
from cohortvault.extraction.transforms import (
    AgeAtVisit,
    ConvertUnit,
    Dichotomise,
    Recode,
    Transform,
    ZScore,
)

__all__ = [
    "AgeAtVisit",
    "ConvertUnit",
    "Dichotomise",
    "Extraction",
    "Note",
    "Recode",
    "Result",
    "Source",
    "SpecError",
    "Transform",
    "ZScore",
    "delivery_diff",
    "extract",
    "write_delivery",
]
