"""The correction services, the only doors for every front door (pages, API, command line):

- ``correcting``: a ticket corrected by cell edits or by a corrected file;
- ``affected``: the deliveries a correction reached, and their re-delivery;
- ``withdrawals``: consent withdrawal, and the erasure once retention has passed;
- ``errorlog``: the public error log in the common area;
- ``reading``: corrections and their cell-level change logs.
"""

from __future__ import annotations

from cohortvault.corrections.services.affected import redeliver
from cohortvault.corrections.services.correcting import MAX_EDITS, correct_cells, correct_with_file
from cohortvault.corrections.services.errorlog import as_csv, error_log, publish
from cohortvault.corrections.services.reading import (
    change_log,
    correction,
    corrections,
    pending_redeliveries,
)
from cohortvault.corrections.services.records import (
    AffectedInfo,
    CellEdit,
    CorrectionInfo,
    ErrorLogRow,
    WithdrawalInfo,
)
from cohortvault.corrections.services.withdrawals import (
    erase_due,
    withdraw_consent,
    withdrawal,
    withdrawals,
)

__all__ = [
    "MAX_EDITS",
    "AffectedInfo",
    "CellEdit",
    "CorrectionInfo",
    "ErrorLogRow",
    "WithdrawalInfo",
    "as_csv",
    "change_log",
    "correct_cells",
    "correct_with_file",
    "correction",
    "corrections",
    "erase_due",
    "error_log",
    "pending_redeliveries",
    "publish",
    "redeliver",
    "withdraw_consent",
    "withdrawal",
    "withdrawals",
]
