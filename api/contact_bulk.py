"""Contacts in bulk: up to 1,000 created or updated in one call, with the CSV import's upsert rule."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from messaging.audience.import_bulk import MAX_BULK, bulk_upsert, check_item
from messaging.audience.import_writer import Outcome
from messaging.db import db

from .auth import current_actor
from .errors import fields_from_pydantic
from .registry import operation
from .schemas import Body, ContactIn

# 1,000 contacts with their form data run well past the app's usual 2 MiB.
MAX_BULK_BODY_BYTES = 16 * 1024 * 1024


class ContactBulkIn(Body):
    """Contacts to create or update; each item is checked on its own, so one bad item rejects only itself."""

    contacts: list[Any] = Field(max_length=MAX_BULK, description=(
        f"At most {MAX_BULK:,} items, each a body of `POST /contacts` (`ContactIn`). An item matches an existing "
        "contact by phone (E.164), else by e-mail, and updates it: values given overwrite, tags are added, "
        "form_data keys merged; without a match it creates one. An item matching several contacts is rejected. "
        "A later item updates what an earlier one created."))


class BulkResultOut(BaseModel):
    """What became of one item."""

    index: int = Field(description="The item's position in `contacts`, from 0.")
    status: Literal["created", "updated", "rejected"]
    id: int | None = Field(description="The contact created or updated; null when rejected.")
    fields: dict[str, str] = Field(description="For a rejected item, what is wrong with each field; else empty.")


class ContactBulkOut(BaseModel):
    """Counts and one result per item, in the order sent."""

    created: int
    updated: int
    rejected: int
    results: list[BulkResultOut]


def _checked(item: Any):
    if not isinstance(item, dict):
        return Outcome.rejected("must be an object", {"item": "must be a contact object"})
    try:
        body = ContactIn.model_validate(item)
    except ValidationError as exc:
        fields = fields_from_pydantic(exc)
        return Outcome.rejected("; ".join(f"{k}: {v}" for k, v in fields.items()), fields)
    return check_item(body.model_dump(exclude_unset=True))


@operation("/contacts/bulk", "POST", summary="Create or update contacts in bulk", tag="contacts",
           request_body=ContactBulkIn, response=ContactBulkOut, errors=(422,),
           max_body_bytes=MAX_BULK_BODY_BYTES)
def bulk_contacts(body: ContactBulkIn) -> ContactBulkOut:
    """Upserts by phone, then e-mail, as the CSV import does; more than 1,000 items → 422 and nothing
    is written. Consent flags write ledger rows (source `api`) only where they change the state.
    Audited once with the counts."""
    outcomes = bulk_upsert(db.session, current_actor(), [_checked(item) for item in body.contacts])
    db.session.commit()
    results = [BulkResultOut(index=n, status=o.status, id=o.contact_id, fields=o.fields if o.status == "rejected"
                             else {}) for n, o in enumerate(outcomes)]
    return ContactBulkOut(**{status: sum(1 for o in outcomes if o.status == status)
                             for status in ("created", "updated", "rejected")}, results=results)
