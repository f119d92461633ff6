from django.apps import AppConfig


class DeliveriesConfig(AppConfig):
    name = "cohortvault.deliveries"
    label = "deliveries"
    verbose_name = "Deliveries"
