"""Contacts in bulk from a program (``POST /api/v1/contacts/bulk``): the CSV import's upsert rule, for JSON.

Each item is checked like a new contact (``contact_fields``); a valid one becomes a
``ContactChange`` and the whole list goes through ``upsert_contacts`` as one batch, so an item
matches by phone, else e-mail, exactly as a CSV row does, and a later item updates what an
earlier one created. The call is audited once, with the counts. The caller commits.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from messaging import clock
from messaging.audit import Actor, audit
from messaging.errors import ValidationFailed
from messaging.models import CONSENT_CHANNELS
from messaging.people.contacts import contact_fields

from .import_writer import ContactChange, Outcome, upsert_contacts

MAX_BULK = 1000
# The legacy consent flags, as ledger rows (as ``people.contacts`` reads them for a single contact).
CONSENT_FLAGS = {"sms_consent": [("sms", "transactional")],
                 "marketing_consent": [(channel, "marketing") for channel in CONSENT_CHANNELS]}


def change_from_fields(clean: dict) -> ContactChange:
    """A ContactChange from the cleaned fields of ``contact_fields`` (tags, form data and consent flags split off)."""
    clean = dict(clean)
    consents = {}
    for flag, pairs in CONSENT_FLAGS.items():
        if clean.get(flag) is not None:
            consents.update({pair: bool(clean[flag]) for pair in pairs})
        clean.pop(flag, None)
    return ContactChange(fields=clean, tags=clean.pop("tags", None) or [], form=clean.pop("form_data", None) or {},
                         consents=consents)


def check_item(data: dict) -> ContactChange | Outcome:
    """One item checked like a contact to create: its change, or its rejection naming each field."""
    try:
        # Every item needs a first name, even one that updates a contact (as every CSV row does).
        clean = contact_fields({"first_name": None, **data}, partial=True)
    except ValidationFailed as exc:
        reason = "; ".join(f"{name}: {problem}" for name, problem in exc.fields.items()) or exc.message
        return Outcome.rejected(reason, dict(exc.fields))
    form = clean.get("form_data") or {}
    # A null value deletes nothing in a merge: it is left out, as an empty CSV cell is.
    clean["form_data"] = {key: value for key, value in form.items() if value is not None}
    return change_from_fields(clean)


def bulk_upsert(session: Session, actor: Actor, items: list[ContactChange | Outcome]) -> list[Outcome]:
    """Upsert checked items (at most MAX_BULK) in one batch on the session's connection; audited with the counts."""
    if len(items) > MAX_BULK:
        raise ValidationFailed(f"At most {MAX_BULK:,} contacts per call.",
                               {"contacts": f"at most {MAX_BULK:,} items, not {len(items):,}"})
    outcomes = upsert_contacts(session.connection(), items, actor, "api", clock.utcnow())
    audit(actor, "contacts.bulk", "contact", None,
          **{status: sum(1 for o in outcomes if o.status == status) for status in ("created", "updated", "rejected")})
    return outcomes
