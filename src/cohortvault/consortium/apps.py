from django.apps import AppConfig


class ConsortiumConfig(AppConfig):
    name = "cohortvault.consortium"
    label = "consortium"
    verbose_name = "Consortium"

    def ready(self) -> None:
        from cohortvault.access import principals
        from cohortvault.consortium.services import principal_for_user

        principals.register(principal_for_user)
