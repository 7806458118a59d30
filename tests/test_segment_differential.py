"""Segment rules in SQL agree with a plain Python reading of the same rule, on SQLite and PostgreSQL.

Hypothesis writes the contacts (tags, form data, columns, a consent ledger) and the rules, with
hostile values: quotes, ``%`` and ``_``, SQL fragments, ß/İ/emoji, numbers as text, real and
impossible dates, missing fields. The SQL the core builds must pick exactly the contacts that
``tests/support/segment_oracle.py`` picks. One app per test; each example starts from empty tables.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from messaging.audience.segments import count_matching, rule_clock, sample_matching
from messaging.audit import SYSTEM
from messaging.db import db
from messaging.models import AuditEntry, ConsentEntry, Contact, ContactField, ContactTag
from messaging.people.consent import record_consent
from messaging.settings import get_settings
from tests.support.segment_oracle import OracleContact, evaluate

# 23:30 UTC is already tomorrow in Auckland: "today" must be the organisation's date, not UTC's.
NOW = datetime(2025, 6, 15, 23, 30)
ZONE = "Pacific/Auckland"
TODAY = date(2025, 6, 16)

HOSTILE = ["'", '"', "%", "_", "a%b", "x_y", "100%", "'; DROP TABLE contact; --", "\\", "/", "//", "O'Brien",
           "ß", "SS", "ss", "Straße", "STRASSE", "İ", "i̇", "ı", "I", "😀", "😀x", "ﬃ", "FFI", "K", "k", "é",
           "e\u0301", "Σ", "ς", "vip", "VIP", " vip ", "", " "]
NUMBERS_AS_TEXT = ["15", " 15 ", "-2.5", "007", "1.", ".5", "15abc", "1e3", "0", "-0", "٣"]
DATES_AS_TEXT = ["2025-06-16", "2025-06-15", "2025-06-17", "2025-02-30", "2025-06-16T10:00", "16/06/2025",
                 "2024-12-31", "2026-01-01", "today"]
FIELD_NAMES = ["score", "note", "due", "ß"]
# Values that LIKE, quoting or folding would get wrong, drawn often so that they meet stored values.
TRAPS = ["%", "_", "/", "\\", "'", "a%b", "x_y", "ß", "SS", "İ", "😀"]
ZONES = [None, "Europe/London", "America/New_York", "Pacific/Auckland"]

small_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=6)
hostile_text = st.sampled_from(HOSTILE) | small_text
numbers = st.integers(-50, 50) | st.floats(-100, 100, allow_nan=False, allow_infinity=False)
form_values = (st.sampled_from(TRAPS) | hostile_text | numbers | st.booleans() | st.none()
               | st.sampled_from(NUMBERS_AS_TEXT) | st.sampled_from(DATES_AS_TEXT))
consent_rows = st.lists(st.tuples(st.sampled_from(["sms", "email", "voice"]),
                                  st.sampled_from(["transactional", "marketing"]), st.booleans()), max_size=3)

contacts = st.lists(st.builds(
    OracleContact,
    tags=st.lists(st.sampled_from([t for t in HOSTILE if t.strip()]) | small_text.filter(str.strip),
                  max_size=3).map(lambda tags: [t.strip() for t in tags]),
    form_data=st.dictionaries(st.sampled_from(FIELD_NAMES), form_values, max_size=4),
    language=st.sampled_from(["en", "es"]),
    timezone=st.sampled_from(ZONES),
    created_at=st.integers(-3 * 24, 3 * 24).map(lambda hours: NOW + timedelta(hours=hours)),
    date_of_birth=st.none() | st.dates(date(1990, 1, 1), date(1990, 1, 5)),
    ledger=consent_rows,
), max_size=6)

rule_dates = st.sampled_from(["today", "today+1d", "today-1d", "today+30d", "today-7d", "2025-06-16",
                              "2025-06-15", "2024-12-31", "1990-01-03", "TODAY"])
rule_numbers = numbers | st.sampled_from(["15", "-2.5", "007", "0"])
text_values = st.sampled_from(TRAPS) | hostile_text.filter(lambda v: v != "") | numbers | st.booleans()


def field_condition():
    name = st.sampled_from(FIELD_NAMES)
    return st.one_of(
        st.builds(lambda n, op, v: {"field": n, "op": op, "value": v}, name, st.sampled_from(["eq", "ne"]),
                  text_values | st.just("")),
        st.builds(lambda n, v: {"field": n, "op": "contains", "value": v}, name,
                  text_values),
        st.builds(lambda n, op, v: {"field": n, "op": op, "value": v}, name, st.sampled_from(["gt", "lt"]),
                  rule_numbers),
        st.builds(lambda n, op, v: {"field": n, "op": op, "value": v}, name, st.sampled_from(["before", "after"]),
                  rule_dates),
        st.builds(lambda n, op: {"field": n, "op": op}, name, st.sampled_from(["exists", "not_exists"])),
    )


def column_condition():
    text_column = st.sampled_from(["contact.language", "contact.timezone"])
    date_column = st.sampled_from(["contact.created_at", "contact.date_of_birth"])
    return st.one_of(
        st.builds(lambda n, op, v: {"field": n, "op": op, "value": v}, text_column,
                  st.sampled_from(["eq", "ne", "contains"]),
                  st.sampled_from(["EN", "es", "europe/london", "AMERICA", "/", "%", "_"])),
        st.builds(lambda n, op, v: {"field": n, "op": op, "value": v}, date_column,
                  st.sampled_from(["eq", "ne", "before", "after"]), rule_dates),
        st.builds(lambda n, op: {"field": n, "op": op}, text_column | date_column,
                  st.sampled_from(["exists", "not_exists"])),
    )


leaf = st.one_of(
    st.builds(lambda t, negate: {"tag": t, "negate": True} if negate else {"tag": t},
              st.sampled_from([t for t in HOSTILE if t.strip()]) | small_text.filter(str.strip), st.booleans()),
    field_condition(),
    column_condition(),
    st.builds(lambda c, negate: {"consent": c, "negate": negate},
              st.sampled_from(["sms:transactional", "sms:marketing", "email:marketing", "voice:transactional"]),
              st.booleans()),
    st.builds(lambda b: {"opted_out": b}, st.booleans()),
)
group = st.builds(lambda m, cs: {"match": m, "conditions": cs}, st.sampled_from(["all", "any"]),
                  st.lists(leaf, min_size=1, max_size=3))
rules = st.builds(lambda m, cs: {"match": m, "conditions": cs}, st.sampled_from(["all", "any"]),
                  st.lists(leaf | group, min_size=1, max_size=4))


def store(people: list[OracleContact]) -> list[int]:
    """Empty the tables, then store these contacts (the ORM's flush indexes them) and their ledgers."""
    for table in (ConsentEntry, ContactTag, ContactField, AuditEntry, Contact):
        db.session.execute(delete(table))
    ids = []
    for person in people:
        contact = Contact(first_name="Test", tags=person.tags, form_data=person.form_data, language=person.language,
                          timezone=person.timezone, created_at=person.created_at,
                          date_of_birth=person.date_of_birth)
        db.session.add(contact)
        db.session.flush()
        for channel, purpose, granted in person.ledger:
            record_consent(contact, channel, purpose, granted, "staff", SYSTEM)
        ids.append(contact.id)
    db.session.commit()
    return ids


def sql_matches(rule) -> set[int]:
    from messaging.audience.segment_sql import rule_condition

    return set(db.session.execute(select(Contact.id).where(rule_condition(rule, rule_clock()))).scalars())


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(people=contacts, rule=rules)
def test_sql_agrees_with_the_python_reading_of_the_rule(ctx, clock, people, rule):
    clock.at(NOW)
    get_settings().timezone = ZONE
    ids = store(people)
    assert rule_clock().today == TODAY
    expected = {contact_id for contact_id, person in zip(ids, people, strict=True)
                if evaluate(rule, person, TODAY, ZoneInfo(ZONE))}
    assert sql_matches(rule) == expected, (rule, people)
    assert count_matching(rule) == len(expected)
    assert sample_matching(rule) == sorted(expected)[:10]


def test_the_hostile_cases_a_reader_would_try_first(ctx, clock):
    """The same comparison on hand-picked cases, each of which the generator might take long to find."""
    clock.at(NOW)
    get_settings().timezone = ZONE
    people = [
        OracleContact(tags=["straße"], form_data={"note": "50%_off", "score": "15", "due": "2025-06-16"}),
        OracleContact(tags=["strasse"], form_data={"note": "50 off", "score": 15.0, "due": "2025-06-15T08:00"}),
        OracleContact(tags=["i̇stanbul"], form_data={"note": "O'Brien", "score": "15abc", "due": "2025-02-30"}),
        OracleContact(tags=["😀"], form_data={"note": "'; DROP TABLE contact; --", "score": True}),
        OracleContact(form_data={"note": None}, ledger=[("sms", "transactional", False)]),
    ]
    ids = store(people)
    cases = [
        ({"tag": "STRASSE"}, [0, 1]), ({"tag": "İstanbul"}, [2]), ({"tag": "😀"}, [3]),
        ({"field": "note", "op": "contains", "value": "%_"}, [0]),
        ({"field": "note", "op": "contains", "value": "0%"}, [0]),
        ({"field": "note", "op": "contains", "value": "_"}, [0]),
        ({"field": "note", "op": "eq", "value": "o'brien"}, [2]),
        ({"field": "note", "op": "contains", "value": "drop table"}, [3]),
        ({"field": "score", "op": "gt", "value": "14.5"}, [0, 1]),
        ({"field": "score", "op": "eq", "value": 15}, [0, 1]),
        ({"field": "due", "op": "before", "value": "today"}, [1]),
        ({"field": "due", "op": "after", "value": "today-1d"}, [0]),
        ({"field": "note", "op": "not_exists"}, [4]),
        ({"field": "note", "op": "ne", "value": "x"}, [0, 1, 2, 3]),
        ({"opted_out": True}, [4]),
        ({"consent": "sms:transactional", "negate": True}, [4]),
    ]
    for condition, expected in cases:
        rule = {"match": "all", "conditions": [condition]}
        assert [i for i, p in enumerate(people) if evaluate(rule, p, TODAY, ZoneInfo(ZONE))] == expected, condition
        assert sql_matches(rule) == {ids[i] for i in expected}, condition
