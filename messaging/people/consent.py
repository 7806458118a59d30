"""Consent as a ledger: every grant and withdrawal is a row, and the latest row per channel and purpose rules.

Rows are never edited or deleted. With no row for a channel and purpose, **transactional is
granted** (the client gave the organisation this number or address) and **marketing is not**.
A withdrawal of transactional consent stops every message on that channel but automatic replies.

The legacy fields of the API derive from the ledger: ``sms_consent`` is the sms transactional
state, ``marketing_consent`` is true when marketing is granted on at least one channel, and
``opted_out_at`` is the time of the sms transactional withdrawal while it stands.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, false, func, select, true

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import CONSENT_CHANNELS, CONSENT_PURPOSES, CONSENT_SOURCES, ConsentEntry, Contact
from messaging.webhooks import emit

DEFAULT_GRANTED = {"transactional": True, "marketing": False}
PHONE_CHANNELS = ("sms", "voice")
MAX_NOTE_LENGTH = 1000


@dataclass(frozen=True)
class ConsentState:
    """The current state of one channel and purpose, and the ledger row it comes from (None: the default)."""

    granted: bool
    entry: ConsentEntry | None = None

    @property
    def at(self) -> datetime | None:
        return self.entry.at if self.entry else None

    @property
    def source(self) -> str | None:
        return self.entry.source if self.entry else None


def check_consent_choice(channel, purpose, field_prefix: str = "") -> None:
    """Raise ValidationFailed unless channel and purpose are among the ledger's values."""
    errors = {}
    if channel not in CONSENT_CHANNELS:
        errors[f"{field_prefix}channel"] = f"must be one of {', '.join(CONSENT_CHANNELS)}"
    if purpose not in CONSENT_PURPOSES:
        errors[f"{field_prefix}purpose"] = f"must be one of {', '.join(CONSENT_PURPOSES)}"
    if errors:
        raise ValidationFailed("The consent is not valid.", errors)


def record_consent(contact: Contact, channel: str, purpose: str, granted: bool, source: str, actor: Actor,
                   note: str | None = None, at: datetime | None = None) -> ConsentEntry:
    """Add one ledger row (the caller commits). Raises ValidationFailed on an unknown channel, purpose or source."""
    check_consent_choice(channel, purpose)
    if source not in CONSENT_SOURCES:
        raise ValueError(f"unknown consent source {source!r}")
    if note is not None and len(note) > MAX_NOTE_LENGTH:
        raise ValidationFailed("The consent is not valid.", {"note": f"must be at most {MAX_NOTE_LENGTH} characters"})
    entry = ConsentEntry(contact_id=contact.id, channel=channel, purpose=purpose, granted=bool(granted),
                         source=source, actor=actor.label, user_id=actor.user_id, api_key_id=actor.api_key_id,
                         note=note or None, at=at or clock.utcnow())
    db.session.add(entry)
    db.session.flush()
    return entry


def record_if_changed(contact: Contact, channel: str, purpose: str, granted: bool, source: str, actor: Actor,
                      note: str | None = None) -> ConsentEntry | None:
    """Add a row only when it changes the current state: re-importing a file adds nothing."""
    if consent_state(contact, channel, purpose).granted == bool(granted):
        return None
    return record_consent(contact, channel, purpose, granted, source, actor, note)


def _default_states() -> dict[str, dict[str, ConsentState]]:
    return {channel: {purpose: ConsentState(DEFAULT_GRANTED[purpose]) for purpose in CONSENT_PURPOSES}
            for channel in CONSENT_CHANNELS}


def states_by_contact(contact_ids) -> dict[int, dict[str, dict[str, ConsentState]]]:
    """Every channel and purpose of many contacts (a list page, a delivery batch) in one query."""
    ids = sorted({int(i) for i in contact_ids if i is not None})
    states = {cid: _default_states() for cid in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        latest = (select(func.max(ConsentEntry.id)).where(ConsentEntry.contact_id.in_(chunk))
                  .group_by(ConsentEntry.contact_id, ConsentEntry.channel, ConsentEntry.purpose))
        for entry in db.session.execute(select(ConsentEntry).where(ConsentEntry.id.in_(latest))).scalars():
            states[entry.contact_id][entry.channel][entry.purpose] = ConsentState(entry.granted, entry)
    return states


def consent_states(contact: Contact) -> dict[str, dict[str, ConsentState]]:
    """Every channel and purpose of the contact, current state first looked up in one query."""
    if contact.id is None:
        return _default_states()
    return states_by_contact([contact.id])[contact.id]


def consent_state(contact: Contact, channel: str, purpose: str) -> ConsentState:
    """The current state of one channel and purpose."""
    if contact.id is None:
        return ConsentState(DEFAULT_GRANTED[purpose])
    entry = db.session.execute(
        select(ConsentEntry).where(ConsentEntry.contact_id == contact.id, ConsentEntry.channel == channel,
                                   ConsentEntry.purpose == purpose)
        .order_by(ConsentEntry.id.desc()).limit(1)).scalar_one_or_none()
    return ConsentState(entry.granted if entry else DEFAULT_GRANTED[purpose], entry)


def has_consent(contact: Contact, channel: str, purpose: str) -> bool:
    """Whether the contact may now get messages of this purpose on this channel."""
    return consent_state(contact, channel, purpose).granted


def consent_map(contact: Contact) -> dict[str, dict[str, bool]]:
    """``{"sms": {"transactional": True, "marketing": False}, "email": {...}, "voice": {...}}``."""
    return {channel: {purpose: state.granted for purpose, state in purposes.items()}
            for channel, purposes in consent_states(contact).items()}


def consent_history(contact: Contact) -> list[ConsentEntry]:
    """The contact's ledger, newest first."""
    return list(db.session.execute(select(ConsentEntry).where(ConsentEntry.contact_id == contact.id)
                                   .order_by(ConsentEntry.id.desc())).scalars())


def opted_out_at(contact: Contact) -> datetime | None:
    """When the contact withdrew sms transactional consent (STOP), while that withdrawal stands."""
    state = consent_state(contact, "sms", "transactional")
    return None if state.granted or state.entry is None else state.entry.at


def granted_sql(contact_id: ColumnElement, channel: str, purpose: str) -> ColumnElement[bool]:
    """SQL that is true where the contact's current state of channel and purpose is granted.

    The latest row decides; with none, the purpose's default. One index seek per contact
    (``ix_consent_entry_latest``).
    """
    latest = (select(ConsentEntry.granted)
              .where(ConsentEntry.contact_id == contact_id, ConsentEntry.channel == channel,
                     ConsentEntry.purpose == purpose)
              .order_by(ConsentEntry.id.desc()).limit(1).correlate_except(ConsentEntry).scalar_subquery())
    return func.coalesce(latest, true() if DEFAULT_GRANTED[purpose] else false()) == true()


def consent_summary(contact: Contact) -> dict:
    """The state map and the legacy fields derived from it, from one ledger query (see ``summary_of``)."""
    return summary_of(consent_states(contact))


def summary_of(states: dict[str, dict[str, ConsentState]]) -> dict:
    """``{"consent": map, sms_consent, sms_consent_at, marketing_consent, marketing_consent_at,
    marketing_consent_source, opted_out_at}`` from one contact's states.

    ``sms_consent``/``sms_consent_at``: the sms transactional state and the time of the row it comes
    from; ``marketing_consent``: marketing granted on at least one channel, ``marketing_consent_at``
    and ``marketing_consent_source`` from the latest marketing row on any channel; ``opted_out_at``
    as ``opted_out_at``.
    """
    sms = states["sms"]["transactional"]
    marketing = [states[channel]["marketing"] for channel in CONSENT_CHANNELS]
    latest = max((s.entry for s in marketing if s.entry is not None), key=lambda e: e.id, default=None)
    return {"consent": {channel: {purpose: state.granted for purpose, state in purposes.items()}
                        for channel, purposes in states.items()},
            "sms_consent": sms.granted, "sms_consent_at": sms.at,
            "marketing_consent": any(s.granted for s in marketing),
            "marketing_consent_at": latest.at if latest else None,
            "marketing_consent_source": latest.source if latest else None,
            "opted_out_at": None if sms.granted or sms.entry is None else sms.entry.at}


def withdraw_phone(contact: Contact, source: str, actor: Actor, note: str | None = None) -> list[ConsentEntry]:
    """STOP (or the provider's opt-out): withdraw both purposes on sms and voice; e-mail is untouched.

    Rows only where the state changes; the rows written are returned.
    """
    rows = [record_if_changed(contact, channel, purpose, False, source, actor, note)
            for channel in PHONE_CHANNELS for purpose in CONSENT_PURPOSES]
    return [row for row in rows if row is not None]


def grant_phone_transactional(contact: Contact, source: str, actor: Actor,
                              note: str | None = None) -> list[ConsentEntry]:
    """START: grant transactional on sms and voice again; marketing never comes back this way."""
    rows = [record_if_changed(contact, channel, "transactional", True, source, actor, note)
            for channel in PHONE_CHANNELS]
    return [row for row in rows if row is not None]


def states_for(contact_ids, channels=CONSENT_CHANNELS) -> dict[int, dict[str, dict[str, bool]]]:
    """``consent_map`` for many contacts at once (a delivery batch, a fan-out batch), on ``channels``:
    one query per 500 contacts reading only the deciding rows' flags, defaults filled in."""
    ids = sorted({int(i) for i in contact_ids if i is not None})
    wanted = sorted(set(channels))
    states = {cid: {channel: dict(DEFAULT_GRANTED) for channel in wanted} for cid in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        latest = (select(func.max(ConsentEntry.id))
                  .where(ConsentEntry.contact_id.in_(chunk), ConsentEntry.channel.in_(wanted))
                  .group_by(ConsentEntry.contact_id, ConsentEntry.channel, ConsentEntry.purpose))
        for contact_id, channel, purpose, granted in db.session.execute(
                select(ConsentEntry.contact_id, ConsentEntry.channel, ConsentEntry.purpose, ConsentEntry.granted)
                .where(ConsentEntry.id.in_(latest))):
            states[contact_id][channel][purpose] = bool(granted)
    return states


def change_consent(actor: Actor, contact: Contact, channel: str, purpose: str, granted: bool, source: str,
                   note: str | None = None) -> ConsentEntry:
    """A person's grant or withdrawal (staff, API): always one row, even if it repeats the state, audited."""
    check_consent_choice(channel, purpose)  # before reading the state it names
    was = consent_state(contact, channel, purpose).granted
    changed = was != bool(granted)
    entry = record_consent(contact, channel, purpose, granted, source, actor, (note or "").strip() or None)
    if changed:
        emit("contact.opted_in" if granted else "contact.opted_out", contact_id=contact.id, source=source,
             consent=[f"{channel}:{purpose}"])
    audit(actor, "contact.consent", "contact", contact.id, channel=channel, purpose=purpose,
          granted=bool(granted), source=source, old=was, new=bool(granted))
    return entry
