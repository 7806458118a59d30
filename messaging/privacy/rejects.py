"""An erased contact's rows among imports' rejected rows (kept, encrypted, for the rejected-rows download).

A rejected row created no contact, so nothing links it to one: it is found by its content, a cell
that is the contact's e-mail address or phone number (compared in normal form), and deleted.
"""
from __future__ import annotations

import json

from sqlalchemy import delete, select

from messaging.db import db
from messaging.models import ContactImport, ContactImportReject
from messaging.people.contacts import normalise_email, normalise_phone
from messaging.security.crypto import InvalidToken, keyring

BATCH = 500


def _normal(cell: str) -> set[str]:
    forms = {cell.strip().casefold()}
    for normalise in (normalise_email, normalise_phone):
        try:
            forms.add(normalise(cell.strip()).casefold())
        except ValueError:
            pass
    return forms


def _matches(values, needles: set[str]) -> bool:
    cells = values if isinstance(values, list) else list(values.values()) if isinstance(values, dict) else []
    return any(isinstance(cell, str) and cell.strip() and _normal(cell) & needles for cell in cells)


def delete_rejected_rows(phone: str | None, email: str | None) -> int:
    """Delete every import's rejected rows naming this phone number or e-mail address; how many went."""
    needles = {value.casefold() for value in (phone, email) if value}
    if not needles:
        return 0
    deleted = 0
    imports = db.session.execute(select(ContactImport.id, ContactImport.data_key)
                                 .where(ContactImport.rejected > 0).order_by(ContactImport.id)).all()
    for import_id, wrapped in imports:
        fernet = keyring().data_key(wrapped)
        after = 0
        while True:  # keyset batches: bounded memory however many rows an import refused
            rows = db.session.execute(
                select(ContactImportReject.id, ContactImportReject.row_ciphertext)
                .where(ContactImportReject.import_id == import_id, ContactImportReject.id > after)
                .order_by(ContactImportReject.id).limit(BATCH)).all()
            if not rows:
                break
            after = rows[-1][0]
            doomed = []
            for reject_id, token in rows:
                try:
                    values = json.loads(fernet.decrypt(token))
                except (InvalidToken, ValueError):
                    continue
                if _matches(values, needles):
                    doomed.append(reject_id)
            if doomed:
                db.session.execute(delete(ContactImportReject).where(ContactImportReject.id.in_(doomed))
                                   .execution_options(synchronize_session=False))
                deleted += len(doomed)
    return deleted
