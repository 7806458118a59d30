"""The recommendation matrix: situations, their use, and audited edits.

A situation's key is what templates, messages and the API refer to, so it never changes once
created; label, recommendation, rationale and the protected-data flag can. A situation that any
template or message refers to cannot be deleted: its history would lose its meaning.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from messaging.audit import Actor, audit
from messaging.db import db
from messaging.errors import Conflict, NotFound, ValidationFailed
from messaging.models import RECOMMENDATIONS, Message, Situation, Template
from messaging.text_rules import CONTROL_CHARACTERS

KEY = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
RECOMMENDATION_LABELS = {"secure": "secure", "standard": "standard",
                         "standard_opt_in": "standard, only with marketing opt-in"}
EDITABLE = ("label", "recommendation", "rationale", "protected_data")


@dataclass(frozen=True)
class MatrixRow:
    """A situation with how many templates and messages use it (what the matrix page shows)."""

    situation: Situation
    templates: int
    messages: int

    @property
    def in_use(self) -> bool:
        return bool(self.templates or self.messages)

    @property
    def refusal(self) -> str:
        """Why this row cannot be deleted (only meaningful when in use)."""
        parts = [f"{n} {word}{'s' if n != 1 else ''}" for n, word in ((self.templates, "template"),
                                                                       (self.messages, "message")) if n]
        return (f"'{self.situation.label}' is used by {' and '.join(parts)} and cannot be deleted. "
                "Edit its recommendation instead, or move its templates to another situation first.")


def _counts(column) -> dict[int, int]:
    rows = db.session.execute(db.select(column, db.func.count()).where(column.is_not(None)).group_by(column))
    return {situation_id: count for situation_id, count in rows}


def list_matrix() -> list[MatrixRow]:
    """Every situation in reading order, with how many templates and messages use it."""
    templates, messages = _counts(Template.situation_id), _counts(Message.situation_id)
    situations = db.session.execute(db.select(Situation).order_by(Situation.position, Situation.id)).scalars()
    return [MatrixRow(s, templates.get(s.id, 0), messages.get(s.id, 0)) for s in situations]


def usage(situation: Situation) -> MatrixRow:
    """How many templates and messages use one situation."""
    templates = db.session.execute(db.select(db.func.count(Template.id))
                                   .filter_by(situation_id=situation.id)).scalar()
    messages = db.session.execute(db.select(db.func.count(Message.id)).filter_by(situation_id=situation.id)).scalar()
    return MatrixRow(situation, templates, messages)


def get_situation(key: str) -> Situation:
    """The situation with this key; NotFound otherwise."""
    situation = db.session.execute(db.select(Situation).filter_by(key=key)).scalar_one_or_none()
    if situation is None:
        raise NotFound(f"No situation with key '{key}'.")
    return situation


def _flag(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("true", "yes", "y", "on", "1")


def _clean(data: dict, errors: dict, current: Situation | None = None) -> dict:
    clean = {}
    if "label" in data or current is None:
        label = " ".join(str(data.get("label") or "").split())
        if not label:
            errors["label"] = "is required"
        elif len(label) > 200:
            errors["label"] = "must be at most 200 characters"
        clean["label"] = label
    if "recommendation" in data or current is None:
        recommendation = str(data.get("recommendation") or "").strip()
        if recommendation not in RECOMMENDATIONS:
            errors["recommendation"] = "must be one of: " + ", ".join(RECOMMENDATIONS)
        clean["recommendation"] = recommendation
    if "rationale" in data or current is None:
        rationale = str(data.get("rationale") or "").strip()
        if len(rationale) > 2000:
            errors["rationale"] = "must be at most 2,000 characters"
        clean["rationale"] = rationale
    for field in ("label", "rationale"):
        if field in clean and field not in errors and CONTROL_CHARACTERS.search(clean[field]):
            errors[field] = "must not contain control characters"
    if "protected_data" in data or current is None:
        clean["protected_data"] = _flag(data.get("protected_data"))
    return clean


def create_situation(actor: Actor, data: dict) -> Situation:
    """Add a row to the matrix (key, label, recommendation, rationale, protected_data). Audited."""
    errors: dict[str, str] = {}
    key = str(data.get("key") or "").strip()
    if not KEY.match(key):
        errors["key"] = "use 2 to 64 lower-case letters, digits and underscores, starting with a letter"
    elif db.session.execute(db.select(Situation.id).filter_by(key=key)).first():
        errors["key"] = f"a situation with key '{key}' exists already"
    clean = _clean(data, errors)
    if errors:
        raise ValidationFailed("The situation is not valid.", errors)
    last = db.session.execute(db.select(db.func.max(Situation.position))).scalar()
    situation = Situation(key=key, position=(last or 0) + 1, **clean)
    db.session.add(situation)
    db.session.flush()
    audit(actor, "situation.create", "situation", key, **clean)
    return situation


def update_situation(actor: Actor, situation: Situation, data: dict) -> dict:
    """Change label, recommendation, rationale or protected_data; returns {field: [old, new]}. Audited."""
    errors: dict[str, str] = {}
    if "key" in data and str(data["key"]).strip() != situation.key:
        errors["key"] = "cannot change: templates, messages and API callers refer to it"
    clean = _clean(data, errors, situation)
    if errors:
        raise ValidationFailed("The situation is not valid.", errors)
    changes = {}
    for field in EDITABLE:
        if field in clean and getattr(situation, field) != clean[field]:
            changes[field] = [getattr(situation, field), clean[field]]
            setattr(situation, field, clean[field])
    if changes:
        audit(actor, "situation.update", "situation", situation.key, changes=changes)
    return changes


def delete_situation(actor: Actor, situation: Situation) -> None:
    """Delete a situation nothing refers to; one in use is refused with how it is used."""
    row = usage(situation)
    if row.in_use:
        raise Conflict(row.refusal, code="situation_in_use")
    audit(actor, "situation.delete", "situation", situation.key, label=situation.label,
          recommendation=situation.recommendation)
    db.session.delete(situation)
    db.session.flush()
