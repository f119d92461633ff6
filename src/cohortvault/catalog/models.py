"""Versions of the data dictionary. A version is never changed or deleted once stored."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import models
from django.utils import timezone

from cohortvault.errors import Conflict


def checksum_of(schema: dict[str, Any]) -> str:
    """SHA-256 of the schema's canonical JSON (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, separators=(",", ":"), ensure_ascii=False)


class DictionaryVersion(models.Model):
    """One version of the consortium's harmonized variables, as a Frictionless Table Schema.

    The current version is the one with the highest number. Rows are immutable: ``save`` on a
    stored row and ``delete`` raise, and database triggers refuse UPDATE (and, on PostgreSQL,
    DELETE) from any other route.

    The schema is kept as JSON text, not in a JSON column: PostgreSQL's ``jsonb`` reorders
    object keys, and the order of a variable's categories is part of the dictionary.
    """

    number = models.PositiveIntegerField(unique=True)
    schema = models.TextField(help_text="The Table Schema as JSON text, in its own key order.")
    checksum = models.CharField(max_length=64)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"data dictionary version {self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise Conflict("A data dictionary version cannot be changed; import a new one.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise Conflict("A data dictionary version cannot be deleted.")

    @property
    def table_schema(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.schema)
        return loaded

    @property
    def intact(self) -> bool:
        """Does the stored schema still match the checksum taken when it was created?"""
        try:
            return checksum_of(self.table_schema) == self.checksum
        except ValueError:
            return False
