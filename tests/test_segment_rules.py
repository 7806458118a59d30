"""Checking a segment rule: the canonical form it is stored in, and each way a rule can be wrong, by path."""
from __future__ import annotations

from datetime import date

import pytest

from messaging.audience.segment_rules import check_rule, resolve_date, rule_number
from messaging.errors import ValidationFailed


def problems(rule) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        check_rule(rule)
    assert caught.value.message.startswith("The rule is not valid: ")
    return caught.value.fields


def one(condition) -> dict:
    return {"match": "all", "conditions": [condition]}


def test_the_canonical_form_keeps_what_the_grammar_says():
    rule = {"match": "any", "conditions": [
        {"tag": "  VIP "}, {"tag": "new", "negate": False}, {"tag": "old", "negate": True},
        {"consent": "sms:marketing"}, {"opted_out": True},
        {"field": "visits", "op": "gt", "value": "15"}, {"field": "plan", "op": "exists"},
        {"match": "all", "conditions": [{"field": "due", "op": "before", "value": " Today+30d "}]},
    ]}
    assert check_rule(rule) == {"match": "any", "conditions": [
        {"tag": "VIP"}, {"tag": "new"}, {"tag": "old", "negate": True},
        {"consent": "sms:marketing", "negate": False}, {"opted_out": True},
        {"field": "visits", "op": "gt", "value": "15"}, {"field": "plan", "op": "exists"},
        {"match": "all", "conditions": [{"field": "due", "op": "before", "value": "today+30d"}]},
    ]}


@pytest.mark.parametrize(("rule", "expected"), [
    ("all", {"rule": "must be an object with match and conditions"}),
    ({"match": "all", "conditions": [{"tag": "x"}], "limit": 5}, {"rule.limit": "is not a key of a rule"}),
    (one({"tag": ""}), {"rule.conditions.0.tag": "must not be empty"}),
    (one({"tag": 5}), {"rule.conditions.0.tag": "must be text"}),
    (one({"tag": "x" * 65}), {"rule.conditions.0.tag": "at most 64"}),
    (one({"tag": "a\x07b"}), {"rule.conditions.0.tag": "control characters"}),
    (one({"tag": "x", "negate": "yes"}), {"rule.conditions.0.negate": "true or false"}),
    (one({"tag": "x", "op": "eq"}), {"rule.conditions.0.op": "is not a key of a tag condition"}),
    (one({"field": "a", "op": "eq"}), {"rule.conditions.0.value": "is required"}),
    (one({"field": "a", "value": 1}), {"rule.conditions.0.op": "is required"}),
    (one({"field": "", "op": "exists"}), {"rule.conditions.0.field": "must not be empty"}),
    (one({"field": "f" * 65, "op": "exists"}), {"rule.conditions.0.field": "at most 64"}),
    (one({"field": "a", "op": "exists", "value": 1}), {"rule.conditions.0.value": "takes no value"}),
    (one({"field": "a", "op": "contains", "value": ""}), {"rule.conditions.0.value": "must not be empty"}),
    (one({"field": "a", "op": "eq", "value": "x" * 1001}), {"rule.conditions.0.value": "at most 1,000"}),
    (one({"field": "a", "op": "eq", "value": [1]}), {"rule.conditions.0.value": "must be text"}),
    (one({"field": "a", "op": "gt", "value": True}), {"rule.conditions.0.value": "must be a number"}),
    (one({"field": "a", "op": "lt", "value": "1e3"}), {"rule.conditions.0.value": "must be a number"}),
    (one({"field": "a", "op": "before", "value": "14/03/2025"}), {"rule.conditions.0.value": "YYYY-MM-DD"}),
    (one({"field": "a", "op": "after", "value": "today+99999d"}), {"rule.conditions.0.value": "today"}),
    (one({"field": "a", "op": "after", "value": 20250314}), {"rule.conditions.0.value": "YYYY-MM-DD"}),
    (one({"field": "contact.date_of_birth", "op": "eq", "value": "1990"}), {"rule.conditions.0.value": "YYYY"}),
    (one({"field": "contact.created_at", "op": "contains", "value": "2025"}), {"rule.conditions.0.op": "takes"}),
    (one({"consent": "sms"}), {"rule.conditions.0.consent": "CHANNEL:PURPOSE"}),
    (one({"consent": "sms:marketing", "negate": 1}), {"rule.conditions.0.negate": "true or false"}),
    (one({"opted_out": None}), {"rule.conditions.0.opted_out": "true or false"}),
    (one({}), {"rule.conditions.0": "exactly one of"}),
    (one({"match": "all", "conditions": []}), {"rule.conditions.0.conditions": "at least one"}),
    ({"match": "all", "conditions": [{"tag": "x"}] * 51}, {"rule.conditions": "at most 50"}),
    ({"match": "all", "conditions": [{"match": "any", "conditions": [{"tag": "x"}] * 34}] * 3},
     {"rule.conditions": "at most 100 conditions in all"}),
])
def test_each_problem_is_named_by_its_path(rule, expected):
    found = problems(rule)
    for path, words in expected.items():
        assert path in found, found
        assert words in found[path], found


def test_every_problem_is_reported_at_once():
    found = problems({"match": "every", "conditions": [
        {"tag": "ok"}, {"field": "age", "op": "gt", "value": "old"}, {"field": "x", "op": "soon"},
        {"match": "all", "conditions": [{"match": "all", "conditions": [{"tag": "y"}]}]}]})
    assert set(found) == {"rule.match", "rule.conditions.1.value", "rule.conditions.2.op",
                          "rule.conditions.3.conditions.0"}


def test_values_read_as_numbers_and_dates():
    assert rule_number("15") == 15 and rule_number(" -2.5 ") == -2.5 and rule_number(3) == 3
    assert rule_number("15abc") is None and rule_number(True) is None and rule_number("1e3") is None
    assert rule_number(float("inf")) is None
    today = date(2025, 6, 16)
    assert resolve_date("today", today) == today
    assert resolve_date("today+30d", today) == date(2025, 7, 16)
    assert resolve_date("today-7d", today) == date(2025, 6, 9)
    assert resolve_date("2024-02-29", today) == date(2024, 2, 29)
    assert resolve_date("2025-02-29", today) is None
    assert resolve_date("today+1w", today) is None
