from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "cohortvault.tickets"
    label = "tickets"
    verbose_name = "Error tickets"
