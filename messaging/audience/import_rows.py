"""What each column of an import means, and one row checked into a contact change or a reason.

A mapping is ``{column index (as text): target}``; a target is a contact column (``first_name``,
``last_name``, ``phone``, ``email``, ``language``, ``date_of_birth``, ``timezone``), ``tags``
(words separated by ``;``), ``consent:CHANNEL:PURPOSE``, ``form:NAME`` or ``ignore``. Headers
are recognised case-insensitively (spaces and hyphens read as ``_``, ``E-mail`` as ``email``); a column named
``CHANNEL_PURPOSE_consent`` is a consent column, and every other column becomes a form field of
its name. Empty cells change nothing.
"""
from __future__ import annotations

import re

from messaging.errors import ValidationFailed
from messaging.models import CONSENT_CHANNELS, CONSENT_PURPOSES
from messaging.people.contacts import MAX_FORM_KEY_LENGTH, contact_fields, text_problem

from .import_writer import ContactChange

CONTACT_TARGETS = ("first_name", "last_name", "phone", "email", "tags", "language", "date_of_birth", "timezone")
CONSENT_TARGETS = tuple(f"consent:{channel}:{purpose}" for channel in CONSENT_CHANNELS for purpose in CONSENT_PURPOSES)
CONSENT_VALUES = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}
CONSENT_HEADER = re.compile(r"^(?P<channel>[a-z]+)_(?P<purpose>[a-z]+)_consent$")


def header_key(name: str) -> str:
    """A header as it is recognised: trimmed, lower case, spaces and hyphens as ``_`` (``E-mail`` is ``email``)."""
    key = re.sub(r"[\s-]+", "_", name.strip().lower())
    return "email" if key == "e_mail" else key


def consent_target(name: str) -> str | None:
    """``consent:sms:marketing`` for a header such as ``SMS_Marketing_Consent``; None for any other."""
    match = CONSENT_HEADER.match(header_key(name))
    if match and match["channel"] in CONSENT_CHANNELS and match["purpose"] in CONSENT_PURPOSES:
        return f"consent:{match['channel']}:{match['purpose']}"
    return None


def detect_mapping(columns: list[str]) -> dict[str, str]:
    """The target of each column, from its header; a second column for the same target is ignored."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for index, name in enumerate(columns):
        key = header_key(name)
        if not key:
            target = "ignore"
        elif key in CONTACT_TARGETS:
            target = key
        else:
            target = consent_target(name) or f"form:{name.strip()}"
        if target in taken:
            target = "ignore"
        taken.add(target)
        mapping[str(index)] = target
    return mapping


def target_choices(column: str) -> list[str]:
    """Every target a column may be given (its own form field among them), for the console's preview."""
    return [*CONTACT_TARGETS, *CONSENT_TARGETS, f"form:{column.strip() or 'field'}", "ignore"]


def check_mapping(mapping: dict, columns: list[str]) -> dict[str, str]:
    """The mapping with its keys checked; raises ValidationFailed naming each column that cannot be used."""
    errors: dict[str, str] = {}
    clean: dict[str, str] = {}
    seen: dict[str, str] = {}
    for index in range(len(columns)):
        target = str(mapping.get(str(index), "ignore"))
        label = columns[index] or f"column {index + 1}"
        if target.startswith("form:"):
            name = target[len("form:"):].strip()
            if not name or len(name) > MAX_FORM_KEY_LENGTH or text_problem(name):
                errors[str(index)] = (f"“{label}” cannot be a form field: a field's name must be 1 to "
                                      f"{MAX_FORM_KEY_LENGTH} characters of text")
            target = f"form:{name}"
        elif target not in CONTACT_TARGETS and target not in CONSENT_TARGETS and target != "ignore":
            errors[str(index)] = f"“{label}”: unknown target {target[:40]!r}"
        if target != "ignore" and target in seen:
            errors[str(index)] = f"“{label}” and “{seen[target]}” are both mapped to {target}; choose one"
        seen.setdefault(target, label)
        clean[str(index)] = target
    if "first_name" not in seen and not errors:
        errors["mapping"] = ("No column is first_name: every contact needs a first name. Name a column "
                             "first_name (or map one to it).")
    if errors:
        raise ValidationFailed("The columns cannot be imported as they are mapped.", errors)
    return clean


class RowReader:
    """Turns the values of one row into a ContactChange, or the reason it is rejected (naming the column)."""

    def __init__(self, mapping: dict[str, str], columns: list[str], extra_tags: list[str] = ()):
        self.targets = [(int(index), target) for index, target in mapping.items() if target != "ignore"]
        self.extra_tags = list(extra_tags)
        # Which column a problem of a field is about: its header as the file wrote it.
        self.labels = {"form_data": "form fields"}
        for index, target in self.targets:
            self.labels[target] = columns[index] if index < len(columns) and columns[index] else target

    def read(self, values: list[str]) -> ContactChange | str:
        """The change this row asks for, or why it cannot be imported."""
        data: dict = {}
        tags = list(self.extra_tags)
        form: dict[str, str] = {}
        consents: dict[tuple[str, str], bool] = {}
        for index, target in self.targets:
            value = values[index].strip() if index < len(values) else ""
            if not value:
                continue
            if target == "tags":
                tags += [word.strip() for word in value.split(";") if word.strip()]
            elif target.startswith("consent:"):
                granted = CONSENT_VALUES.get(value.lower())
                if granted is None:
                    return f"{self.labels[target]}: must be yes, no, true, false, 1 or 0 (or empty), not {value[:20]!r}"
                _, channel, purpose = target.split(":")
                consents[(channel, purpose)] = granted
            elif target.startswith("form:"):
                form[target[len("form:"):]] = value
            else:
                data[target] = value
        if "first_name" not in data:
            return f"{self.labels.get('first_name', 'first_name')}: is required"
        if tags:
            data["tags"] = tags
        if form:
            data["form_data"] = form
        try:
            clean = contact_fields(data, partial=True)
        except ValidationFailed as exc:
            return "; ".join(f"{self.labels.get(field, field)}: {problem}" for field, problem in exc.fields.items())
        tags = clean.pop("tags", [])
        form = clean.pop("form_data", {})
        return ContactChange(fields=clean, tags=tags, form=form, consents=consents)
