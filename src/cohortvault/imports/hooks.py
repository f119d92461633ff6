"""Every new version of a file in a site's import area, from any front door, becomes an import;
deleting the file withdraws its imports that still await a decision."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from cohortvault.files.models import Node
from cohortvault.files.signals import file_stored, files_deleted
from cohortvault.imports import services


@receiver(file_stored, sender=Node)
def register_import(sender: Any, node: Node, version: Any, principal: Any, **kwargs: Any) -> None:
    services.register(node, version, principal)


@receiver(files_deleted, sender=Node)
def withdraw_imports(sender: Any, node_ids: list[int], principal: Any, **kwargs: Any) -> None:
    services.withdraw(node_ids, principal)
