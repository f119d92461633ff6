from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "cohortvault.identity"
    label = "identity"
    verbose_name = "Identities"
