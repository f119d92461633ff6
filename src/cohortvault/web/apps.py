from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "cohortvault.web"
    label = "web"
    verbose_name = "Web pages"

    def ready(self) -> None:
        from cohortvault.web import signals  # noqa: F401
