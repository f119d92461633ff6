from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "cohortvault.imports"
    label = "imports"
    verbose_name = "Imports"

    def ready(self) -> None:
        from cohortvault.imports import hooks  # noqa: F401  (connects to files.file_stored)
