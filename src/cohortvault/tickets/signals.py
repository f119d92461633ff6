"""Sent when a ticket's state changes (inside the changing transaction): the error log in the
common area follows (``corrections`` listens)."""

from django.dispatch import Signal

ticket_changed = Signal()  # sender=Ticket, ticket=<Ticket>
