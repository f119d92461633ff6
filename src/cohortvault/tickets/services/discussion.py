"""Taking part in a ticket: comments and attachments (its reporter, the site's members and the
data managers)."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db import transaction

from cohortvault.access.policy import Action, Area, Principal
from cohortvault.audit.trail import record
from cohortvault.errors import Conflict, Invalid, NotFound
from cohortvault.files import services as files
from cohortvault.storage.maintenance import backend
from cohortvault.tickets.models import BLOB_PURPOSE, Attachment, Event
from cohortvault.tickets.services.common import (
    MAX_TEXT,
    clean_text,
    target_of,
    tell_followers,
    ticket_row,
    touch,
)
from cohortvault.tickets.services.records import (
    AttachmentDownload,
    AttachmentInfo,
    TicketInfo,
    info_of,
)

__all__ = ["MAX_ATTACHMENT_SIZE", "attach", "attachment", "comment"]

MAX_ATTACHMENT_SIZE = 20 * 1024 * 1024
MAX_ATTACHMENTS = 10


def comment(principal: Principal, number: int, text: str) -> TicketInfo:
    row = ticket_row(principal, number, Action.WRITE)
    text = clean_text(text, MAX_TEXT, "comment")
    with transaction.atomic():
        Event.objects.create(
            ticket=row, kind=Event.Kind.COMMENT, actor=principal.username, text=text
        )
        touch(row)
        record("tickets.comment", actor=principal, target=target_of(number))
        tell_followers(row, f"{principal.username} commented on ticket {number}.", principal)
    return info_of(row, full=True)


def attach(
    principal: Principal,
    number: int,
    *,
    name: str,
    source: Any,
    size: int | None,
    content_type: str = "application/octet-stream",
) -> AttachmentInfo:
    """Store a file with the ticket, encrypted under the key of its site's data area."""
    row = ticket_row(principal, number, Action.WRITE)
    name = _filename(name)
    if size is not None and size > MAX_ATTACHMENT_SIZE:
        raise Invalid(f"An attachment may be at most {MAX_ATTACHMENT_SIZE // (1024 * 1024)} MiB.")
    if row.attachments.count() >= MAX_ATTACHMENTS:
        raise Conflict(f"A ticket holds at most {MAX_ATTACHMENTS} attachments.")
    files.check_room(size)
    key_row, keys = files.area_secrets(Area.site_data(row.site.code))
    blob = files.store_blob(key_row, keys, source, size=size)
    blob.purpose = BLOB_PURPOSE
    try:
        if blob.size > MAX_ATTACHMENT_SIZE:
            raise Invalid(
                f"An attachment may be at most {MAX_ATTACHMENT_SIZE // (1024 * 1024)} MiB."
            )
        with transaction.atomic():
            blob.save(force_insert=True)
            attached = Attachment.objects.create(
                ticket=row,
                name=name,
                content_type=_content_type(content_type),
                blob=blob,
                size=blob.size,
                added_by=principal.username,
            )
            Event.objects.create(
                ticket=row,
                kind=Event.Kind.ATTACHMENT,
                actor=principal.username,
                text=name,
                details={"attachment": attached.pk, "size": blob.size},
            )
            touch(row)
            record(
                "tickets.attach",
                actor=principal,
                target=target_of(number),
                details={"attachment": attached.pk, "size": blob.size},
            )
            tell_followers(
                row, f"{principal.username} attached {name} to ticket {number}.", principal
            )
    except BaseException:
        backend().delete(blob.id.hex)
        raise
    return AttachmentInfo(
        attached.pk, attached.name, attached.size, attached.content_type, attached.added_by,
        attached.added_at,
    )  # fmt: skip


def _filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = unicodedata.normalize("NFC", "".join(c for c in base if c.isprintable())).strip()
    if cleaned in ("", ".", ".."):
        raise Invalid("Give the attachment a file name.")
    return cleaned[:255]


def _content_type(value: str) -> str:
    value = value.split(";", 1)[0].strip().lower()
    allowed = all(c.isalnum() or c in "/.+-" for c in value) and value.count("/") == 1
    return value[:100] if allowed else "application/octet-stream"


def attachment(principal: Principal, number: int, attachment_id: int) -> AttachmentDownload:
    row = ticket_row(principal, number, Action.READ)
    found = row.attachments.select_related("blob__area_key").filter(pk=attachment_id).first()
    if found is None:
        raise NotFound(f"Ticket {number} has no attachment {attachment_id}.")
    with transaction.atomic():
        record(
            "tickets.attachment",
            actor=principal,
            target=target_of(number),
            details={"attachment": found.pk},
        )
    return AttachmentDownload(
        found.name, found.size, found.content_type, files.blob_chunks(found.blob)
    )
