"""Named factories shared by the seed loader, the tests and the benchmarks."""
from __future__ import annotations

import itertools

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.models import Contact, Situation, Template, User
from messaging.people.contacts import create_contact
from messaging.people.users import create_api_key, create_user

_counter = itertools.count(1)


def make_user(email: str | None = None, role: str = "staff", password: str = "correct horse battery") -> User:
    user = create_user(SYSTEM, email or f"user{next(_counter)}@example.com", role, password)
    db.session.commit()
    return user


def make_contact(**fields) -> Contact:
    n = next(_counter)
    data = {"first_name": "Dana", "last_name": f"Tester{n}", "phone": f"+1415555{n % 10000:04d}",
            "email": f"dana{n}@example.com"}
    data.update(fields)
    contact = create_contact(SYSTEM, data, source="system")
    db.session.commit()
    return contact


def situation(key: str) -> Situation:
    return db.session.execute(db.select(Situation).filter_by(key=key)).scalar_one()


def make_template(slug: str | None = None, situation_key: str | None = None, **fields) -> Template:
    n = next(_counter)
    template = Template(slug=slug or f"template-{n}", name=fields.pop("name", f"Template {n}"),
                        channel=fields.pop("channel", "sms"), body=fields.pop("body", "Hello {{ first_name }}"),
                        situation=situation(situation_key) if situation_key else None, **fields)
    db.session.add(template)
    db.session.commit()
    return template


def make_api_key(role: str = "staff", name: str | None = None) -> str:
    _key, plain = create_api_key(SYSTEM, name or f"key-{next(_counter)}", role)
    db.session.commit()
    return plain
