from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "cohortvault.projects"
    label = "projects"
    verbose_name = "Projects"

    def ready(self) -> None:
        from cohortvault.projects.services import purge_expired_agreements
        from cohortvault.storage.maintenance import register_purger

        register_purger(purge_expired_agreements)
