"""The one upsert rule of imports and the bulk API: a batch of checked contacts written with Core.

A change matches an existing contact by phone (E.164), else by e-mail; several matches reject it.
A match is updated: values given overwrite, tags are added, form fields merged; no match creates
a contact. Changes are applied in order against what the batch has done so far, so a later change
updates what an earlier one created (across batches too: each batch reads what the last one
committed). A consent value writes a ledger row only when it changes the current state, so
importing the same file again adds none.

Two queries find the batch's existing contacts (by phone, by e-mail), one their consent states; inserts and updates
are ``executemany`` statements. Core writes pass by the ORM's flush listener, so the tag and
field index is written here (``write_index``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import String, any_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from messaging.audit import Actor
from messaging.models import ConsentEntry, Contact, ContactField, ContactTag
from messaging.people.consent import DEFAULT_GRANTED
from messaging.people.contacts import MAX_TAGS, form_data_problem, timezone_for_phone
from messaging.people.search_index import index_rows, write_index

CONTACT = Contact.__table__
LEDGER = ConsentEntry.__table__
# The columns a change may set; ``pin_hash`` only from the API.
COLUMNS = ("first_name", "last_name", "phone", "email", "language", "date_of_birth", "timezone", "pin_hash")
READ_COLUMNS = ("first_name", "last_name", "phone", "email", "language", "date_of_birth", "timezone", "tags",
                "form_data")
NEW_CONTACT = {"last_name": "", "phone": None, "email": None, "language": "en", "date_of_birth": None,
               "timezone": None, "pin_hash": None}


@dataclass
class ContactChange:
    """One contact to create or update: the checked values given (None: not given), tags to add,
    form fields to merge, and consent to set, keyed by (channel, purpose)."""

    fields: dict
    tags: list[str] = field(default_factory=list)
    form: dict = field(default_factory=dict)
    consents: dict[tuple[str, str], bool] = field(default_factory=dict)


@dataclass
class Outcome:
    """What became of one change: ``created``, ``updated`` or ``rejected`` (with the reason, per field)."""

    status: str
    contact_id: int | None = None
    reason: str | None = None
    fields: dict[str, str] = field(default_factory=dict)

    @classmethod
    def rejected(cls, reason: str, fields: dict[str, str] | None = None) -> Outcome:
        """A rejection; ``fields`` names the field the reason is about, when there is one."""
        return cls("rejected", reason=reason, fields=fields or {})


def _lookup(connection, column, keys: list[str]):
    """The contacts whose ``column`` is one of ``keys``: one query (two per batch, phones and e-mails)."""
    query = select(CONTACT.c.id, *(CONTACT.c[name] for name in READ_COLUMNS))
    if connection.dialect.name == "postgresql":
        # One array parameter instead of a thousand: cheaper to send, and each column's index is
        # used on its own (an OR of two long IN lists made PostgreSQL scan the table).
        return query.where(column == any_(bindparam("keys", keys, type_=ARRAY(String))))
    return query.where(column.in_(keys))


class _Batch:
    """The contacts a batch touches, as they stand after each change; new ones have negative ids until inserted."""

    def __init__(self, connection, changes: list[ContactChange]):
        self.connection = connection
        self.original: dict[int, dict] = {}
        self.state: dict[int, dict] = {}
        self.by_phone: dict[str, set[int]] = {}
        self.by_email: dict[str, set[int]] = {}
        self.consent: dict[tuple[int, str, str], bool] = {}
        self.ledger: list[tuple[int, str, str, bool]] = []
        self.new_ids: list[int] = []
        phones = {c.fields["phone"] for c in changes if c.fields.get("phone")}
        emails = {c.fields["email"] for c in changes if c.fields.get("email")}
        for column, keys in ((CONTACT.c.phone, phones), (CONTACT.c.email, emails)):
            if not keys:
                continue
            for row in connection.execute(_lookup(connection, column, sorted(keys))).mappings():
                if row["id"] in self.state:
                    continue
                values = dict(row)
                values["tags"] = list(values["tags"] or [])
                values["form_data"] = dict(values["form_data"] or {})
                self.original[row["id"]] = dict(values)
                self.state[row["id"]] = values
                self._index(row["id"], values)
        if self.state and any(c.consents for c in changes):
            self._read_consent(list(self.state))

    def _index(self, contact_id: int, values: dict) -> None:
        if values.get("phone"):
            self.by_phone.setdefault(values["phone"], set()).add(contact_id)
        if values.get("email"):
            self.by_email.setdefault(values["email"], set()).add(contact_id)

    def _unindex(self, contact_id: int, values: dict) -> None:
        self.by_phone.get(values.get("phone"), set()).discard(contact_id)
        self.by_email.get(values.get("email"), set()).discard(contact_id)

    def _read_consent(self, ids: list[int]) -> None:
        latest = (select(func.max(LEDGER.c.id)).where(LEDGER.c.contact_id.in_(ids))
                  .group_by(LEDGER.c.contact_id, LEDGER.c.channel, LEDGER.c.purpose))
        query = select(LEDGER.c.contact_id, LEDGER.c.channel, LEDGER.c.purpose, LEDGER.c.granted) \
            .where(LEDGER.c.id.in_(latest))
        for contact_id, channel, purpose, granted in self.connection.execute(query):
            self.consent[(contact_id, channel, purpose)] = bool(granted)

    def match(self, change: ContactChange) -> tuple[set[int], str]:
        """The contacts this change matches, by phone, else by e-mail, and which of the two matched."""
        phone, email = change.fields.get("phone"), change.fields.get("email")
        if phone and self.by_phone.get(phone):
            return set(self.by_phone[phone]), "phone"
        if email and self.by_email.get(email):
            return set(self.by_email[email]), "email"
        return set(), ""

    def apply(self, change: ContactChange) -> Outcome:
        """Apply one change to the batch's picture of the contacts."""
        matched, how = self.match(change)
        if len(matched) > 1:
            return Outcome.rejected(f"{how}: matches {len(matched)} contacts; merge or correct them first",
                                    {how: f"matches {len(matched)} contacts"})
        contact_id = matched.pop() if matched else None
        current = self.state[contact_id] if contact_id is not None else {**NEW_CONTACT, "tags": [], "form_data": {}}
        tags = sorted(set(current["tags"]) | set(change.tags))
        if len(tags) > MAX_TAGS:
            return Outcome.rejected(f"tags: the contact would have {len(tags)} tags; at most {MAX_TAGS} are allowed",
                                    {"tags": f"at most {MAX_TAGS} tags are allowed"})
        form = {**current["form_data"], **change.form}
        # The change's own fields were checked already; only a merge with stored ones can break a limit.
        problem = form_data_problem(form) if change.form and current["form_data"] else None
        if problem:
            return Outcome.rejected(f"form fields: {problem}", {"form_data": problem})
        values = {**current, "tags": tags, "form_data": form}
        for name in COLUMNS:
            if change.fields.get(name) not in (None, ""):
                values[name] = change.fields[name]
        if change.fields.get("phone") and not change.fields.get("timezone") and not values.get("timezone"):
            values["timezone"] = timezone_for_phone(values["phone"])
        if contact_id is None:
            contact_id = -(len(self.new_ids) + 1)
            self.new_ids.append(contact_id)
            status = "created"
        else:
            self._unindex(contact_id, current)
            status = "updated"
        self.state[contact_id] = values
        self._index(contact_id, values)
        for (channel, purpose), granted in change.consents.items():
            now_granted = self.consent.get((contact_id, channel, purpose), DEFAULT_GRANTED[purpose])
            if now_granted != granted:
                self.consent[(contact_id, channel, purpose)] = granted
                self.ledger.append((contact_id, channel, purpose, granted))
        return Outcome(status, contact_id)


def upsert_contacts(connection, items: list[ContactChange | Outcome], actor: Actor, source: str,
                    now: datetime) -> list[Outcome]:
    """Write a batch of changes on ``connection`` (the caller commits); items that are already an
    Outcome (rejected while checking) pass through. Returns one Outcome per item, in order."""
    changes = [item for item in items if isinstance(item, ContactChange)]
    batch = _Batch(connection, changes)
    outcomes = [item if isinstance(item, Outcome) else batch.apply(item) for item in items]
    real_ids = _insert_new(connection, batch, now)
    for outcome in outcomes:
        if outcome.contact_id is not None and outcome.contact_id < 0:
            outcome.contact_id = real_ids[outcome.contact_id]
    _update_changed(connection, batch, now)
    if batch.ledger:
        connection.execute(insert(LEDGER), [
            {"contact_id": real_ids.get(cid, cid), "channel": channel, "purpose": purpose, "granted": granted,
             "at": now, "source": source, "actor": actor.label, "user_id": actor.user_id,
             "api_key_id": actor.api_key_id, "note": None}
            for cid, channel, purpose, granted in batch.ledger])
    write_index(connection, [(cid, values["tags"], values["form_data"]) for cid, values in batch.state.items()
                             if cid > 0 and (values["tags"] != batch.original[cid]["tags"]
                                             or values["form_data"] != batch.original[cid]["form_data"])])
    _index_new(connection, [(real_ids[cid], batch.state[cid]) for cid in batch.new_ids])
    return outcomes


def _index_new(connection, created: list[tuple[int, dict]]) -> None:
    """Index rows of contacts just inserted: nothing to replace, so only the inserts of ``write_index``."""
    tag_rows, field_rows = [], []
    for contact_id, values in created:
        tags, fields = index_rows(contact_id, values["tags"], values["form_data"])
        tag_rows += tags
        field_rows += fields
    if tag_rows:
        connection.execute(insert(ContactTag), tag_rows)
    if field_rows:
        connection.execute(insert(ContactField), field_rows)


def _insert_new(connection, batch: _Batch, now: datetime) -> dict[int, int]:
    if not batch.new_ids:
        return {}
    rows = []
    for temp_id in batch.new_ids:
        values = batch.state[temp_id]
        rows.append({**{name: values.get(name) for name in COLUMNS}, "tags": values["tags"],
                     "form_data": values["form_data"], "last_name": values["last_name"] or "",
                     "pin_failures": 0, "pin_lock_count": 0, "created_at": now, "updated_at": now})
    statement = insert(CONTACT).returning(CONTACT.c.id, sort_by_parameter_order=True)
    ids = [row[0] for row in connection.execute(statement, rows)]
    return dict(zip(batch.new_ids, ids, strict=True))


def _update_changed(connection, batch: _Batch, now: datetime) -> None:
    """One UPDATE per set of changed columns (usually one or two per batch), each an executemany."""
    groups: dict[tuple[str, ...], list[dict]] = {}
    for contact_id, original in batch.original.items():
        values = batch.state[contact_id]
        changed = tuple(name for name in (*COLUMNS, "tags", "form_data")
                        if name in values and values[name] != original.get(name))
        if changed:
            groups.setdefault(changed, []).append({"b_id": contact_id, **{f"b_{n}": values[n] for n in changed}})
    for changed, rows in groups.items():
        statement = (update(CONTACT).where(CONTACT.c.id == bindparam("b_id"))
                     .values({**{name: bindparam(f"b_{name}") for name in changed}, "updated_at": now}))
        connection.execute(statement, rows)
