"""Importing a CSV through the command line, and reading back what was stored."""
from __future__ import annotations

import json

from messaging.db import db
from messaging.models import Contact


def import_text(runner, tmp_path, text: str | bytes, name: str = "list.csv") -> dict:
    """Write ``text`` to a file, run ``contacts import FILE --json`` on it, and return its answer (exit 0 asserted)."""
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    result = runner.invoke(args=["contacts", "import", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def stored_contacts(app) -> list[Contact]:
    """Every contact, oldest first, detached so a test can read them outside the app context."""
    with app.app_context():
        rows = list(db.session.execute(db.select(Contact).order_by(Contact.id)).scalars())
        db.session.expunge_all()
        return rows
