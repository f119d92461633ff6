from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "cohortvault.catalog"
    label = "catalog"
    verbose_name = "Data dictionary"
