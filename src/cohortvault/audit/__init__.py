"""The tamper-evident audit trail: append-only, hash-chained, written in the same transaction."""
