from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "cohortvault.governance"
    label = "governance"
    verbose_name = "Access governance"
