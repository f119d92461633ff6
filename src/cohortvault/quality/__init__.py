"""Quality control of tabular imports: readers for every accepted format, the checks against
the data dictionary (conformance, identifiers, the de-identification screen, spreadsheet
formulas), column summaries and the missingness picture.

Pure Python over Polars/Arrow; no Django. The import workflow calls::

    table = read(stream, filename, limits=Limits(), study=study, numbers=numbers_of(dictionary))
    report = check(table, dictionary, site=site, known_subjects=..., known_timepoints=...)
    report.ok, report.personal_data, report.to_json(), report.to_csv()
    missingness_svg(report.missingness)
"""

from cohortvault.quality.checks import check
from cohortvault.quality.conformance import numbers_of
from cohortvault.quality.model import (
    ColumnSummary,
    Detected,
    Finding,
    Missingness,
    MissingnessCell,
    Report,
)
from cohortvault.quality.pictures import missingness_svg
from cohortvault.quality.readers import read
from cohortvault.quality.tables import Limits, Table

__all__ = [
    "ColumnSummary",
    "Detected",
    "Finding",
    "Limits",
    "Missingness",
    "MissingnessCell",
    "Report",
    "Table",
    "check",
    "missingness_svg",
    "numbers_of",
    "read",
]
