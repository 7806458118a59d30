"""GDPR erasure of one contact: their messages' keys destroyed, their fields anonymised, nothing left pending.

What is done, table by table (one transaction, the caller's):
- ``message`` (theirs, both directions, replies included): content destroyed by crypto-shredding
  (``retention.shredding.destroy_content`` with reason ``erasure``: data keys and ciphertexts,
  attachments' bytes, sealed delivery payloads, outbox records); queued or scheduled ones cancelled;
  links revoked (token version raised); staff's free-text override reasons cleared.
- ``attachment``: file names replaced (the bytes went with the key). ``one_time_code``: deleted.
- ``delivery``: pending ones (queued, paused, sending) cancelled; every one's address and last
  error cleared (provider errors quote numbers). ``outbox_entry``: any record left at their address cleared.
- ``message_event``: provider error texts dropped from details, client address hashes cleared.
- ``viewer_session``: live ones ended (``erased``), address hashes cleared.
- ``consent_entry``: notes cleared (the one exception to the ledger's never-edited rule).
- ``broadcast_recipient`` not yet fanned out: ``unreachable``; ``campaign_enrolment`` active: exited.
- ``contact_import_reject``: rows naming their phone or e-mail deleted (``rejects``).
- ``contact``: anonymised (first name "Erased", the rest emptied), ``erased_at`` set; the tag and
  field index rows deleted.
- ``audit_entry``: one entry ``contact.erase`` naming the contact by id, with counts. Entries are
  never edited (the chain would break), and none names a contact by its fields.
On SQLite the WAL is checkpointed and emptied once the erasure commits, so the overwritten pages
leave the -wal file too (``PRAGMA secure_delete`` in ``messaging.db`` zeroes them in the database).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy import event as orm_events
from sqlalchemy.exc import OperationalError

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.events import record_event
from messaging.models import (
    Attachment,
    BroadcastRecipient,
    CampaignEnrolment,
    ConsentEntry,
    Contact,
    ContactField,
    ContactTag,
    Delivery,
    Message,
    MessageEvent,
    OneTimeCode,
    OutboxEntry,
    ViewerSession,
)
from messaging.privacy.export import find_contact, require_admin
from messaging.privacy.rejects import delete_rejected_rows
from messaging.retention.shredding import destroy_content

ERASED_NAME = "Erased"
PENDING_DELIVERIES = ("queued", "paused", "sending")
PENDING_MESSAGES = ("queued", "scheduled")
BATCH = 200
_QUIET = {"synchronize_session": False}


@dataclass
class ErasureReport:
    """What erasing one contact did."""

    contact_id: int
    messages: int = 0
    cancelled_messages: int = 0
    cancelled_deliveries: int = 0
    sessions_ended: int = 0
    consent_notes: int = 0
    rejected_rows: int = 0
    already_erased_at: datetime | None = None  # set when there was nothing left to do

    def summary(self) -> str:
        """One line for the CLI."""
        if self.already_erased_at is not None:
            return (f"Contact {self.contact_id} was erased already, on {self.already_erased_at:%Y-%m-%d %H:%M} UTC: "
                    "nothing left to erase.")
        return (f"Erased contact {self.contact_id}: {self.messages:,} messages' content destroyed, "
                f"{self.cancelled_messages:,} pending messages and {self.cancelled_deliveries:,} deliveries "
                f"cancelled, {self.sessions_ended:,} viewer sessions ended, {self.consent_notes:,} consent notes "
                f"and {self.rejected_rows:,} rejected import rows cleared.")

    def counts(self) -> dict:
        """The counts (the audit entry's detail)."""
        return {"messages": self.messages, "cancelled_messages": self.cancelled_messages,
                "cancelled_deliveries": self.cancelled_deliveries, "sessions_ended": self.sessions_ended,
                "consent_notes": self.consent_notes, "rejected_rows": self.rejected_rows}


def _cancel_pending(contact: Contact, report: ErasureReport) -> None:
    message_ids = select(Message.id).where(Message.contact_id == contact.id)
    report.cancelled_deliveries = db.session.execute(
        update(Delivery).where(Delivery.message_id.in_(message_ids), Delivery.status.in_(PENDING_DELIVERIES))
        .values(status="cancelled", lease_until=None).execution_options(**_QUIET)).rowcount
    pending = list(db.session.scalars(select(Message).where(Message.contact_id == contact.id,
                                                            Message.status.in_(PENDING_MESSAGES))))
    for message in pending:
        message.status = "cancelled"
        record_event(message, "cancelled", reason="erasure")
    report.cancelled_messages = len(pending)


def _destroy_messages(contact: Contact, now, report: ErasureReport) -> None:
    after = 0
    while True:  # keyset batches: bounded memory however many messages the contact has
        batch = list(db.session.scalars(select(Message).where(Message.contact_id == contact.id, Message.id > after)
                                        .order_by(Message.id).limit(BATCH)))
        if not batch:
            return
        after = batch[-1].id
        for message in batch:
            report.messages += destroy_content(message, "erasure", now)
            if message.direction == "out" and message.revoked_at is None:
                message.revoked_at = now
            message.token_version += 1  # every link the client holds stops working
            if message.override_reason:
                message.override_reason = "(cleared by erasure)"
        db.session.flush()


def _scrub_traces(contact: Contact, now, report: ErasureReport) -> None:
    message_ids = select(Message.id).where(Message.contact_id == contact.id)
    for attachment in db.session.scalars(select(Attachment).where(Attachment.message_id.in_(message_ids))):
        attachment.filename = f"erased-file-{attachment.id}"
    db.session.execute(delete(OneTimeCode).where(OneTimeCode.message_id.in_(message_ids)).execution_options(**_QUIET))
    db.session.execute(update(Delivery).where(Delivery.message_id.in_(message_ids))
                       .values(to_address="", last_error=None, payload_ciphertext=None).execution_options(**_QUIET))
    addresses = [value for value in (contact.phone, contact.email) if value]
    if addresses:
        db.session.execute(update(OutboxEntry).where(OutboxEntry.to_address.in_(addresses))
                           .values(to_address="").execution_options(**_QUIET))
    db.session.execute(update(MessageEvent).where(MessageEvent.message_id.in_(message_ids))
                       .values(ip_hash=None).execution_options(**_QUIET))
    for event in db.session.scalars(select(MessageEvent).where(MessageEvent.message_id.in_(message_ids),
                                                               MessageEvent.kind == "failed")):
        if "error" in (event.detail or {}):
            event.detail = {key: value for key, value in event.detail.items() if key != "error"}
    report.sessions_ended = db.session.execute(
        update(ViewerSession).where(ViewerSession.contact_id == contact.id, ViewerSession.ended_at.is_(None))
        .values(ended_at=now, ended_reason="erased").execution_options(**_QUIET)).rowcount
    db.session.execute(update(ViewerSession).where(ViewerSession.contact_id == contact.id)
                       .values(ip_hash=None).execution_options(**_QUIET))
    report.consent_notes = db.session.execute(
        update(ConsentEntry).where(ConsentEntry.contact_id == contact.id, ConsentEntry.note.is_not(None))
        .values(note=None).execution_options(**_QUIET)).rowcount


def _stop_outreach(contact: Contact, now) -> None:
    db.session.execute(update(BroadcastRecipient).where(
        BroadcastRecipient.contact_id == contact.id, BroadcastRecipient.outcome == "to_send",
        BroadcastRecipient.message_id.is_(None)).values(outcome="unreachable").execution_options(**_QUIET))
    # ``opt_out`` is the exit reason that fits among those the console and the API know: the person asked
    # for their data to go, which ends any campaign as surely as a STOP.
    db.session.execute(update(CampaignEnrolment).where(
        CampaignEnrolment.contact_id == contact.id, CampaignEnrolment.state == "active")
        .values(state="exited", exit_reason="opt_out", ended_at=now, next_due_at=None, claimed_by=None,
                lease_until=None).execution_options(**_QUIET))


def _anonymise(contact: Contact, now) -> None:
    contact.first_name, contact.last_name = ERASED_NAME, ""
    contact.phone = contact.email = contact.date_of_birth = contact.timezone = contact.pin_hash = None
    contact.form_data, contact.tags = {}, []
    contact.pin_failures, contact.pin_lock_count, contact.pin_locked_until = 0, 0, None
    contact.pin_set_by = contact.pin_set_at = None
    contact.erased_at = now
    db.session.flush()  # the search index follows tags and form data on flush; the deletes make sure
    db.session.execute(delete(ContactTag).where(ContactTag.contact_id == contact.id).execution_options(**_QUIET))
    db.session.execute(delete(ContactField).where(ContactField.contact_id == contact.id).execution_options(**_QUIET))


def _empty_the_wal(_session) -> None:
    # SQLite in WAL mode keeps the pages an erasure overwrote in the -wal file until a checkpoint
    # copies them back and (TRUNCATE) empties it; an automatic checkpoint never truncates.
    try:
        with db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    except OperationalError:
        pass  # the erasure is committed; SQLite's next checkpoint copies the pages back (docs/security.md)


def _checkpoint_after_commit() -> None:
    if db.engine.dialect.name == "sqlite":
        orm_events.listen(db.session(), "after_commit", _empty_the_wal, once=True)


def erase_contact(actor: Actor, contact_id: int) -> ErasureReport:
    """Erase one contact (GDPR article 17), admins only, in the caller's transaction (the caller commits).

    NotFound when there is no such contact. A contact erased already is left as it is and no second audit
    entry is written (the report says so): running it again is harmless.
    """
    require_admin(actor, "erase")
    contact = find_contact(contact_id)
    if contact.erased_at is not None:
        return ErasureReport(contact_id=contact.id, already_erased_at=contact.erased_at)
    # The claim takes the contact's row lock (PostgreSQL) or the write lock (SQLite): a second erasure at the
    # same time waits here, then matches no row and reports the first one's (one audit entry, not two).
    claimed = db.session.execute(update(Contact).where(Contact.id == contact.id, Contact.erased_at.is_(None))
                                 .values(updated_at=Contact.updated_at).execution_options(**_QUIET)).rowcount
    if not claimed:
        db.session.refresh(contact)
        return ErasureReport(contact_id=contact.id, already_erased_at=contact.erased_at)
    now = clock.utcnow()
    report = ErasureReport(contact_id=contact.id)
    _cancel_pending(contact, report)
    _destroy_messages(contact, now, report)
    _scrub_traces(contact, now, report)
    _stop_outreach(contact, now)
    report.rejected_rows = delete_rejected_rows(contact.phone, contact.email)
    _anonymise(contact, now)
    audit(actor, "contact.erase", "contact", contact.id, **report.counts())
    _checkpoint_after_commit()
    return report
