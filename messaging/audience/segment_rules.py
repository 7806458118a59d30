"""The grammar of a segment's rule, checked: what a rule may say, and every problem keyed by its path.

::

    rule      := {"match": "all" | "any", "conditions": [condition, ...]}   (at least one)
    condition := {"tag": TEXT} | {"tag": TEXT, "negate": true}
               | {"field": NAME, "op": OP, "value": VALUE}
               | {"consent": "CHANNEL:PURPOSE", "negate": BOOL}
               | {"opted_out": BOOL}
               | rule                                             (one nested level, no deeper)

``check_rule`` returns the rule in its canonical form (only the keys the grammar knows, text
trimmed where trimming cannot change a match) or raises ValidationFailed whose ``fields`` are keyed
like ``rule.conditions.2.op``. Values are resolved here too (``"today+30d"`` → a date), so the
SQL compiler and the faces share one reading of them.
"""
from __future__ import annotations

import math
import re
from datetime import date, timedelta

from messaging.errors import ValidationFailed
from messaging.models import CONSENT_CHANNELS, CONSENT_PURPOSES
from messaging.people.contacts import MAX_FORM_KEY_LENGTH, MAX_FORM_TEXT_LENGTH, MAX_TAG_LENGTH, text_problem

MATCHES = ("all", "any")
OPS = ("eq", "ne", "contains", "gt", "lt", "before", "after", "exists", "not_exists")
VALUELESS_OPS = ("exists", "not_exists")
# The contact's own columns a rule may name, and the operators each one takes.
CONTACT_COLUMNS = {
    "contact.language": ("eq", "ne", "contains", "exists", "not_exists"),
    "contact.timezone": ("eq", "ne", "contains", "exists", "not_exists"),
    "contact.created_at": ("eq", "ne", "before", "after", "exists", "not_exists"),
    "contact.date_of_birth": ("eq", "ne", "before", "after", "exists", "not_exists"),
}
DATE_COLUMNS = ("contact.created_at", "contact.date_of_birth")
MAX_CONDITIONS = 50  # in one list (the rule's or a group's)
MAX_TOTAL_CONDITIONS = 100  # in the whole rule: each one is a subquery
MAX_TODAY_OFFSET_DAYS = 36_600
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
RELATIVE_DATE = re.compile(r"^today(?:([+-])(\d{1,5})d)?$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CONSENT_CHOICES = tuple(f"{c}:{p}" for c in CONSENT_CHANNELS for p in CONSENT_PURPOSES)
KEYS = {"tag": {"tag", "negate"}, "field": {"field", "op", "value"}, "consent": {"consent", "negate"},
        "opted_out": {"opted_out"}, "group": {"match", "conditions"}}
DATE_HELP = 'must be a date as YYYY-MM-DD, or "today", "today+30d", "today-7d"'


def rule_number(value) -> float | None:
    """A rule's value as the number ``gt``/``lt`` compare with (``15``, ``"15"``, ``"-2.5"``), or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and NUMBER.match(value.strip()):
        number = float(value.strip())
    else:
        return None
    return number if math.isfinite(number) else None


def resolve_date(value, today: date) -> date | None:
    """A rule's date value (``2025-03-14``, ``today``, ``today+30d``, ``today-7d``) as a date, or None."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    relative = RELATIVE_DATE.match(text)
    try:
        if relative:
            days = int(relative[2] or 0)
            if days > MAX_TODAY_OFFSET_DAYS:
                return None
            return today + timedelta(days=-days if relative[1] == "-" else days)
        if ISO_DATE.match(text):
            return date.fromisoformat(text)
    except (ValueError, OverflowError):
        return None
    return None


def _kind(condition: dict) -> str | None:
    found = [kind for kind, key in (("tag", "tag"), ("field", "field"), ("consent", "consent"),
                                    ("opted_out", "opted_out")) if key in condition]
    if "match" in condition or "conditions" in condition:
        found.append("group")
    return found[0] if len(found) == 1 else None


def _text(value, path: str, errors: dict, limit: int, allow_empty: bool = False) -> str | None:
    if not isinstance(value, str):
        errors[path] = "must be text"
        return None
    if not allow_empty and not value.strip():
        errors[path] = "must not be empty"
        return None
    if len(value) > limit:
        errors[path] = f"must be at most {limit:,} characters"
        return None
    problem = text_problem(value)
    if problem:
        errors[path] = problem
        return None
    return value


def _bool(condition: dict, key: str, path: str, errors: dict, required: bool = False) -> bool:
    if key not in condition and not required:
        return False
    value = condition.get(key)
    if not isinstance(value, bool):
        errors[f"{path}.{key}"] = "must be true or false"
        return False
    return value


def _field_value(name: str, op: str, condition: dict, path: str, errors: dict):
    """The value of a field condition, checked for its operator; errors land on ``path.value``."""
    where = f"{path}.value"
    value = condition.get("value")
    if op in VALUELESS_OPS:
        if value is not None:
            errors[where] = f"{op} takes no value"
        return None
    if value is None:
        errors[where] = "is required"
        return None
    if op in ("gt", "lt"):
        if rule_number(value) is None:
            errors[where] = "must be a number, e.g. 15 or -2.5"
        return value
    if op in ("before", "after") or name in DATE_COLUMNS:
        if resolve_date(value, date(2000, 1, 1)) is None:
            errors[where] = DATE_HELP
        return value.strip().lower() if isinstance(value, str) else value
    if isinstance(value, bool | int | float) and not (isinstance(value, float) and not math.isfinite(value)):
        return value
    if op == "contains" and value == "":
        errors[where] = "must not be empty: every value contains the empty text"
        return value
    return _text(value, where, errors, MAX_FORM_TEXT_LENGTH, allow_empty=True)


def _field(condition: dict, path: str, errors: dict) -> dict:
    name = _text(condition.get("field"), f"{path}.field", errors, MAX_FORM_KEY_LENGTH)
    op = condition.get("op")
    if op not in OPS:
        errors[f"{path}.op"] = "is required" if op is None else f"must be one of {', '.join(OPS)}"
        return {}
    if name is not None and name.startswith("contact."):
        if name not in CONTACT_COLUMNS:
            errors[f"{path}.field"] = "a contact column must be one of " + ", ".join(CONTACT_COLUMNS)
            return {}
        if op not in CONTACT_COLUMNS[name]:
            errors[f"{path}.op"] = f"{name} takes {', '.join(CONTACT_COLUMNS[name])}"
            return {}
    value = _field_value(name or "", op, condition, path, errors)
    clean = {"field": name, "op": op}
    if op not in VALUELESS_OPS:
        clean["value"] = value
    return clean


def _condition(condition, path: str, errors: dict, depth: int) -> dict:
    if not isinstance(condition, dict):
        errors[path] = "must be an object"
        return {}
    kind = _kind(condition)
    if kind is None:
        errors[path] = ("must be exactly one of: a tag, a field, a consent, an opted_out condition, "
                        "or a group with match and conditions")
        return {}
    unknown = sorted(set(condition) - KEYS[kind])
    if unknown:
        errors[f"{path}.{unknown[0]}"] = f"is not a key of a {kind.replace('_', ' ')} condition"
    if kind == "group":
        if depth > 0:
            errors[path] = "groups nest one level only: a group cannot hold another group"
            return {}
        return _rule(condition, path, errors, depth + 1)
    if kind == "tag":
        tag = _text(condition.get("tag"), f"{path}.tag", errors, MAX_TAG_LENGTH)
        clean = {"tag": tag.strip() if tag else tag}
        if _bool(condition, "negate", path, errors):
            clean["negate"] = True
        return clean
    if kind == "field":
        return _field(condition, path, errors)
    if kind == "consent":
        choice = condition.get("consent")
        if choice not in CONSENT_CHOICES:
            errors[f"{path}.consent"] = "must be CHANNEL:PURPOSE, one of " + ", ".join(CONSENT_CHOICES)
        return {"consent": choice, "negate": _bool(condition, "negate", path, errors)}
    return {"opted_out": _bool(condition, "opted_out", path, errors, required=True)}


def _rule(rule, path: str, errors: dict, depth: int) -> dict:
    if not isinstance(rule, dict):
        errors[path] = "must be an object with match and conditions"
        return {}
    unknown = sorted(set(rule) - KEYS["group"])
    if unknown:
        errors[f"{path}.{unknown[0]}"] = "is not a key of a rule (match, conditions)"
    match = rule.get("match")
    if match not in MATCHES:
        errors[f"{path}.match"] = "is required" if match is None else "must be all or any"
    conditions = rule.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        errors[f"{path}.conditions"] = "must hold at least one condition"
        return {}
    if len(conditions) > MAX_CONDITIONS:
        errors[f"{path}.conditions"] = f"may hold at most {MAX_CONDITIONS} conditions, not {len(conditions):,}"
        return {}
    return {"match": match, "conditions": [_condition(c, f"{path}.conditions.{i}", errors, depth)
                                           for i, c in enumerate(conditions)]}


def count_conditions(rule: dict) -> int:
    """How many leaf conditions a (checked) rule holds, groups' included."""
    return sum(count_conditions(c) if "conditions" in c else 1 for c in rule.get("conditions", []))


def check_rule(rule, path: str = "rule") -> dict:
    """The rule in canonical form, or ValidationFailed naming each problem by its path (``rule.conditions.2.op``)."""
    errors: dict[str, str] = {}
    clean = _rule(rule, path, errors, 0)
    if not errors and count_conditions(clean) > MAX_TOTAL_CONDITIONS:
        errors[f"{path}.conditions"] = f"a rule may hold at most {MAX_TOTAL_CONDITIONS} conditions in all"
    if errors:
        first = next(iter(errors.items()))
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ValidationFailed(f"The rule is not valid: {first[0]} {first[1]}{more}.", errors)
    return clean
