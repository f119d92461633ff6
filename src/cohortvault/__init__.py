"""cohortvault: store, find and share sensitive cohort data under auditable access control."""

__version__ = "0.1.0"
