"""Retention: what an overwrite or deletion released is purged once the retention period ends.

Registered with ``storage.maintenance`` as a purger, so ``cohortvault storage gc`` and the
server's periodic collection run it before removing unreferenced blobs.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from cohortvault.access.policy import Principal
from cohortvault.audit.trail import record
from cohortvault.files.models import FileVersion, Node, Upload
from cohortvault.files.services import retention
from cohortvault.storage.maintenance import forget_blob
from cohortvault.storage.models import AreaKey, Blob


def purge_expired() -> dict[str, int]:
    """Remove versions and deleted files past retention, expired uploads, and blobs that no
    version refers to any more. Returns counts by kind."""
    now = timezone.now()
    cutoff = now - retention()
    with transaction.atomic():
        expired_nodes = Node.objects.filter(deleted_at__lte=cutoff)
        node_count = expired_nodes.count()
        expired_nodes.delete()
        old_versions = FileVersion.objects.filter(replaced_at__lte=cutoff).exclude(
            Q(pk__in=Node.objects.filter(current__isnull=False).values("current_id"))
        )
        version_count, _ = old_versions.delete()
        shredded = AreaKey.objects.filter(destroyed_at__isnull=False).values("area")
        expired_uploads = list(
            Upload.objects.filter(Q(expires_at__lte=now) | Q(area__in=shredded)).select_related(
                "blob"
            )
        )
        for upload in expired_uploads:
            upload.delete()
        shredded_nodes, _ = Node.objects.filter(area__in=shredded).delete()
        unreferenced = Blob.objects.filter(complete=True, purpose="file").exclude(
            Exists(FileVersion.objects.filter(blob=OuterRef("pk")))
        )
        orphans = [*unreferenced, *(u.blob for u in expired_uploads)]
        for blob in orphans:
            forget_blob(blob)
        counts = {
            "deleted files purged": node_count,
            "versions purged": version_count,
            "expired uploads": len(expired_uploads),
            "blobs released": len(orphans),
            "items of destroyed areas": shredded_nodes,
        }
        if any(counts.values()):
            record("files.purge", actor=Principal.system(), details=counts)
    return counts
