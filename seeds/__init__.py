"""Seed data: the recommendation matrix, starter templates and demo contacts. Idempotent."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.models import Contact, Situation, Template
from messaging.people.contacts import create_contact
from messaging.settings import get_settings

HERE = Path(__file__).resolve().parent


def _load(name: str) -> list[dict]:
    return json.loads((HERE / name).read_text())


@dataclass
class SeedReport:
    situations: int = 0
    templates: int = 0
    contacts: int = 0


def seed(demo: bool = False) -> SeedReport:
    """Insert what is missing; never overwrite what an admin has edited."""
    report = SeedReport()
    get_settings()
    for position, row in enumerate(_load("situations.json")):
        if db.session.execute(db.select(Situation).filter_by(key=row["key"])).scalar_one_or_none() is None:
            db.session.add(Situation(position=position, **row))
            report.situations += 1
    db.session.flush()
    for row in _load("templates.json"):
        if db.session.execute(db.select(Template).filter_by(slug=row["slug"])).scalar_one_or_none() is None:
            row = dict(row)
            situation = db.session.execute(
                db.select(Situation).filter_by(key=row.pop("situation"))).scalar_one_or_none()
            db.session.add(Template(situation=situation, **row))
            report.templates += 1
    if demo:
        for row in _load("demo_contacts.json"):
            exists = db.session.execute(db.select(Contact).filter_by(
                first_name=row["first_name"], last_name=row["last_name"])).scalar_one_or_none()
            if exists is None:
                create_contact(SYSTEM, row, source="system")
                report.contacts += 1
    db.session.commit()
    return report
