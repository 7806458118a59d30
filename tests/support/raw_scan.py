"""The privacy tests' helpers: a contact with distinctive data everywhere Sealed keeps it, and a scan of the
raw database (SQLite: the bytes of the file and its -wal; PostgreSQL: every row of every table as text)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import inspect, text

from messaging import clock
from messaging.attachments.store import add_attachment
from messaging.audit import SYSTEM
from messaging.client.access import add_reply
from messaging.client.codes import issue_code
from messaging.client.sessions import start_session
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.outcomes import retry_now
from messaging.delivery.transports.base import TransportError
from messaging.models import Contact, Delivery, Message
from messaging.people.consent import change_consent
from seeds.factories import make_contact
from tests.support.files import PDF
from tests.support.messages import send

FIRST, LAST = "Zebulonia", "Quillfeather"
PHONE = "+14155557391"
EMAIL = "zebulonia.quillfeather@example.org"
SECURE_BODY = "Secure body Xylophone-Marmalade-4417"
STANDARD_BODY = "Standard body Walrus-Pistachio-5561"
STANDARD_SUBJECT = "Subject Gorgonzola-Lantern-2290"
REPLY_BODY = "Reply body Quokka-Tangerine-9902"
SCHEDULED_BODY = "Scheduled body Narwhal-Apricot-3308"
STAFF_FILE = f"{LAST}-results.pdf"
CLIENT_FILE = f"{FIRST}-id-card.pdf"
NOTE = f"{FIRST} {LAST} agreed at the front desk"
FORM_VALUE = "Okapi-Saffron-7710"
TAG = "capybara-club"
# What must be unreadable after erasure: the person's name, numbers, address, words and files.
NEEDLES = (FIRST, LAST, PHONE, PHONE.removeprefix("+1"), EMAIL, SECURE_BODY, STANDARD_BODY, STANDARD_SUBJECT,
           REPLY_BODY, SCHEDULED_BODY, STAFF_FILE, CLIENT_FILE, NOTE, FORM_VALUE, TAG)


class RefusesEmail:
    """An e-mail provider that refuses for good, quoting the address (as real ones do) in its error."""

    name = "refuses"
    transactional = False
    max_send_seconds = 0.1

    def send(self, outgoing):
        raise TransportError(f"550 5.1.1 <{outgoing.to}>: mailbox unavailable", retryable=False)


@dataclass
class Scene:
    """The contact and their messages (ids, so they can be read back in any session)."""

    contact_id: int
    secure_id: int
    reply_id: int
    standard_id: int
    scheduled_id: int


def distinctive_contact() -> Scene:
    """A contact whose data is everywhere (inside an app context; committed): a secure SMS with a file, its
    notice and a standard e-mail sent through the outbox, a one-time code the e-mail provider refused (its error
    quotes the address) and retried, the client's reply with a file, a viewer session, a consent note, a
    scheduled message."""
    contact = make_contact(first_name=FIRST, last_name=LAST, phone=PHONE, email=EMAIL, tags=[TAG],
                           form_data={"member": FORM_VALUE}, date_of_birth="1980-04-02")
    change_consent(SYSTEM, contact, "sms", "marketing", True, "staff", note=NOTE)
    db.session.commit()
    secure = send(contact, body=SECURE_BODY, secure=True)
    add_attachment(secure, STAFF_FILE, PDF)
    standard = send(contact, channel="email", body=STANDARD_BODY, subject=STANDARD_SUBJECT, secure=False)
    scheduled = send(contact, body=SCHEDULED_BODY, secure=True, send_at=clock.utcnow() + timedelta(days=2))
    db.session.commit()
    dispatch_once()  # the secure notice (SMS) and the standard e-mail, into the outbox
    transports = current_app.extensions.setdefault("sealed.transports", {})
    transports[("email", "outbox")] = RefusesEmail()
    issue_code(secure, ip="203.0.113.9", channel="email")
    db.session.commit()
    dispatch_once()
    code = db.session.scalars(db.select(Delivery).filter_by(message_id=secure.id, kind="code")).one()
    retry_now(code, SYSTEM)  # an admin's retry: its audit entry quotes the error, which quoted the address
    db.session.commit()
    dispatch_once()
    del transports[("email", "outbox")]
    start_session(contact, secure, "203.0.113.9")
    reply = add_reply(secure, REPLY_BODY, ip="203.0.113.9")
    db.session.flush()
    add_attachment(reply, CLIENT_FILE, PDF, uploaded_by="client")
    db.session.commit()
    return Scene(contact.id, secure.id, reply.id, standard.id, scheduled.id)


def raw_database_text(checkpoint: bool = True) -> bytes:
    """Everything the database holds, as bytes, lower-cased (inside an app context, nothing uncommitted).

    SQLite: the main file and its -wal (after a checkpoint that empties the WAL, unless ``checkpoint`` is
    False); free pages included, so
    whatever an UPDATE or DELETE left behind is found. PostgreSQL: each row of each table cast to text
    (what a query can read; dead tuples are below that until VACUUM, see docs).
    """
    db.session.remove()
    engine = db.engine
    if engine.dialect.name == "sqlite":
        if checkpoint:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = Path(engine.url.database)
        parts = [path.read_bytes()]
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            parts.append(wal.read_bytes())
        return b"\n".join(parts).lower()
    chunks = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            rows = conn.execute(text(f'SELECT t::text FROM "{table}" t')).scalars()
            chunks.extend(row.encode() for row in rows)
    return b"\n".join(chunks).lower()


def found_in(haystack: bytes, needles=NEEDLES) -> list[str]:
    """The needles present in the haystack (case-insensitive)."""
    return [needle for needle in needles if needle.lower().encode() in haystack]


def reload_contact(contact_id: int) -> Contact:
    """The contact as stored now."""
    db.session.expire_all()
    return db.session.get(Contact, contact_id)


def reload_message(message_id: int) -> Message:
    """The message as stored now."""
    db.session.expire_all()
    return db.session.get(Message, message_id)
