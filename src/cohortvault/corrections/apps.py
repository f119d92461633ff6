from typing import Any

from django.apps import AppConfig


class CorrectionsConfig(AppConfig):
    name = "cohortvault.corrections"
    label = "corrections"
    verbose_name = "Corrections"

    def ready(self) -> None:
        from cohortvault.corrections.services import errorlog
        from cohortvault.corrections.services.withdrawals import erase_due, withdrawn_at
        from cohortvault.imports.services import register_withdrawn_subjects
        from cohortvault.storage.maintenance import register_purger
        from cohortvault.tickets.models import Ticket
        from cohortvault.tickets.signals import ticket_changed

        register_purger(erase_due)
        register_withdrawn_subjects(withdrawn_at)

        def publish_error_log(sender: Any, **kwargs: Any) -> None:
            errorlog.publish()

        ticket_changed.connect(publish_error_log, sender=Ticket, weak=False)
