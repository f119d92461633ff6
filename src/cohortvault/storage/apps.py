from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "cohortvault.storage"
    label = "storage"
    verbose_name = "Encrypted storage"
