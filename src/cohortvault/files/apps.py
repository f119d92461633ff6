from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "cohortvault.files"
    label = "files"
    verbose_name = "Files"

    def ready(self) -> None:
        from cohortvault.files import signals  # noqa: F401
        from cohortvault.files.retention import purge_expired
        from cohortvault.storage.maintenance import register_purger

        register_purger(purge_expired)
