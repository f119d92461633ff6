"""Corrections of site data: cell edits and corrected files tied to error tickets, consent
withdrawals, the deliveries each one affects and their re-delivery, and the public error log."""
