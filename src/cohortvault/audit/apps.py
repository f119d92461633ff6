from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "cohortvault.audit"
    label = "audit"
    verbose_name = "Audit trail"
