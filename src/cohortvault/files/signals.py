"""Areas come into being with their owners: a site brings its data and import areas, a project
its area, a user their home. Each gets its own key at that moment."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save
from django.dispatch import Signal, receiver

from cohortvault.access.policy import Area
from cohortvault.consortium.models import Project, Site
from cohortvault.storage.keys import ensure_area_key

#: Sent inside the transaction that makes a new file version current, with ``node``,
#: ``version`` and ``principal``: other domains (quality control of imports) hook in here.
file_stored = Signal()
#: Sent inside the transaction that deletes files, with ``node_ids`` and ``principal``.
files_deleted = Signal()


@receiver(post_save, sender=Site)
def site_areas(sender: Any, instance: Site, created: bool, **kwargs: Any) -> None:
    if created:
        ensure_area_key(Area.site_data(instance.code))
        ensure_area_key(Area.site_import(instance.code))


@receiver(post_save, sender=Project)
def project_area(sender: Any, instance: Project, created: bool, **kwargs: Any) -> None:
    if created:
        ensure_area_key(Area.project(instance.code))


@receiver(post_save, sender=get_user_model())
def home_area(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if created:
        ensure_area_key(Area.home(instance.get_username()))
