from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "cohortvault.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        post_migrate.connect(ensure_head, sender=self)


def ensure_head(sender: object, using: str = "default", **kwargs: object) -> None:
    """Recreate the chain head after a migration or a test-suite flush emptied the table."""
    from cohortvault.audit.models import AuditEntry, AuditHead

    if not AuditEntry.objects.using(using).exists():
        AuditHead.objects.using(using).get_or_create(pk=1)
