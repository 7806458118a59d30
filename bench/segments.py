"""Segments: counting a three-condition segment (tag + field comparison + consent) over 100,000 contacts.

``segment_count_bench(database_url)`` builds the contacts with bulk Core inserts (contacts, their
``contact_tag`` and ``contact_field`` index rows, and a consent ledger), then times, median of
several runs:
- core: ``count_matching`` as the API and the console call it (the rule checked, compiled, run);
- the alternatives measured while choosing that SQL — ``IN`` sets instead of correlated ``EXISTS``
  for the tag and the field, the ledger read per contact (``people.consent.granted_sql``) or as a
  ``max(id)`` group instead of the core's anti-join set — so the figures show why the core's shape
  was kept; and one consent condition alone, where no other condition narrows the contacts first.

Run: ``.venv/bin/python -m bench.segments [--contacts N] [--rounds N]``. SQLite always (a temporary
file); PostgreSQL when ``BENCH_DATABASE_URL`` (or else ``TEST_DATABASE_URL``) answers — its tables
are DROPPED and re-created, so point it at a scratch database.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, exists, func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.databases import fresh_app, postgres_url  # noqa: E402
from messaging.db import db  # noqa: E402

RULE = {"match": "all", "conditions": [
    {"tag": "diabetic"},
    {"field": "visits", "op": "gt", "value": 5},
    {"consent": "sms:marketing"},
]}
TAGS = ("diabetic", "vip", "new-patient", "family-law", "open-matter", "newsletter", "referral", "dental")
CHUNK = 5_000


def build(count: int, seed: int = 9) -> dict:
    """``count`` contacts with 1–3 tags, three form fields and a consent ledger, inserted in bulk."""
    from messaging.models import ConsentEntry, Contact, ContactField, ContactTag

    rng = random.Random(seed)
    created = datetime(2024, 1, 1)
    started = time.perf_counter()
    rows = {"contact_tag": 0, "contact_field": 0, "consent_entry": 0}
    with db.engine.begin() as conn:
        for start in range(1, count + 1, CHUNK):
            ids = range(start, min(start + CHUNK, count + 1))
            contacts, tags, fields, ledger = [], [], [], []
            for n in ids:
                chosen = sorted({TAGS[0] if rng.random() < 0.3 else rng.choice(TAGS[1:])}
                                | set(rng.sample(TAGS[1:], rng.randint(0, 2))))
                visits = rng.randint(0, 20)
                due = (date(2025, 1, 1) + timedelta(days=rng.randint(0, 364))).isoformat()
                plan = rng.choice(("Basic", "Premium", "Family"))
                contacts.append({"id": n, "first_name": f"Client{n}", "last_name": "Bench", "phone": None,
                                 "email": f"c{n}@example.com", "tags": chosen,
                                 "form_data": {"visits": str(visits), "next_checkup": due, "plan": plan},
                                 "language": "en", "created_at": created, "updated_at": created})
                tags += [{"contact_id": n, "tag": t} for t in chosen]
                fields += [{"contact_id": n, "name": "visits", "text": str(visits), "number": float(visits),
                            "date": None},
                           {"contact_id": n, "name": "next_checkup", "text": due, "number": None, "date": due},
                           {"contact_id": n, "name": "plan", "text": plan.casefold(), "number": None, "date": None}]
                base = {"contact_id": n, "at": created, "source": "import", "actor": "bench"}
                if rng.random() < 0.5:
                    ledger.append({**base, "channel": "sms", "purpose": "marketing", "granted": True})
                    if rng.random() < 0.1:  # a later withdrawal: the latest row decides
                        ledger.append({**base, "channel": "sms", "purpose": "marketing", "granted": False})
                if rng.random() < 0.3:
                    ledger.append({**base, "channel": "email", "purpose": "marketing", "granted": True})
                if rng.random() < 0.03:
                    ledger.append({**base, "channel": "sms", "purpose": "transactional", "granted": False})
            conn.execute(insert(Contact), contacts)
            conn.execute(insert(ContactTag), tags)
            conn.execute(insert(ContactField), fields)
            if ledger:
                conn.execute(insert(ConsentEntry), ledger)
            rows["contact_tag"] += len(tags)
            rows["contact_field"] += len(fields)
            rows["consent_entry"] += len(ledger)
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('contact_id_seq', :n)"), {"n": count})
    with db.engine.begin() as conn:
        # PostgreSQL's autovacuum analyses a freshly loaded table soon; do it now so every run sees the same plans.
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    return {"build_seconds": time.perf_counter() - started, **rows}


def alternatives() -> dict:
    """The SQL shapes measured against the core's for ``RULE``, as (name → condition on contact)."""
    from messaging.models import ConsentEntry, Contact, ContactField, ContactTag
    from messaging.people.consent import granted_sql

    tag_exists = exists().where(ContactTag.contact_id == Contact.id, ContactTag.tag == "diabetic")
    field_exists = exists().where(ContactField.contact_id == Contact.id, ContactField.name == "visits",
                                  ContactField.number > 5)
    tag_in = Contact.id.in_(select(ContactTag.contact_id).where(ContactTag.tag == "diabetic"))
    field_in = Contact.id.in_(select(ContactField.contact_id).where(ContactField.name == "visits",
                                                                    ContactField.number > 5))
    per_contact = granted_sql(Contact.id, "sms", "marketing")
    latest_ids = (select(func.max(ConsentEntry.id)).where(ConsentEntry.channel == "sms",
                                                          ConsentEntry.purpose == "marketing")
                  .group_by(ConsentEntry.contact_id))
    max_id_set = Contact.id.in_(select(ConsentEntry.contact_id).where(ConsentEntry.id.in_(latest_ids),
                                                                      ConsentEntry.granted.is_(True)))
    return {"IN sets, ledger per contact": and_(tag_in, field_in, per_contact),
            "EXISTS, ledger per contact": and_(tag_exists, field_exists, per_contact),
            "EXISTS, ledger max(id) set": and_(tag_exists, field_exists, max_id_set)}


def opted_out_alternatives() -> dict:
    """A consent condition alone (it cannot ride on other conditions' short-circuit): the core and per contact."""
    from messaging.models import Contact
    from messaging.people.consent import granted_sql

    return {"ledger per contact": ~granted_sql(Contact.id, "sms", "transactional")}


def timed(run, rounds: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def segment_count_bench(database_url: str, contacts: int = 100_000, rounds: int = 5) -> dict:
    """Build ``contacts`` contacts on ``database_url`` (its tables are dropped) and time counting ``RULE``.

    Returns ``{"database", "contacts", "rows", "build_seconds", "count", "seconds", "alternatives":
    {name: seconds}, "opted_out_alone": {name: seconds}}``; ``seconds`` is the median of ``rounds`` runs
    of the core's ``count_matching``.
    """
    from messaging.audience.segments import count_matching
    from messaging.models import Contact

    app = fresh_app(database_url)
    with app.app_context():
        built = build(contacts)
        count_matching(RULE)  # warm the caches once, as a live database is
        seconds, count = timed(lambda: count_matching(RULE), rounds)
        measured = {}
        for name, condition in alternatives().items():
            query = select(func.count()).select_from(Contact).where(condition)
            measured[name], other = timed(lambda q=query: db.session.execute(q).scalar_one(), rounds)
            assert other == count, (name, other, count)
        opted_out = {"match": "all", "conditions": [{"opted_out": True}]}
        alone = {"core": timed(lambda: count_matching(opted_out), rounds)[0]}
        for name, condition in opted_out_alternatives().items():
            query = select(func.count()).select_from(Contact).where(condition)
            alone[name] = timed(lambda q=query: db.session.execute(q).scalar_one(), rounds)[0]
        dialect = db.engine.dialect.name
        db.session.remove()
        db.engine.dispose()
    return {"database": {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(dialect, dialect),
            "contacts": contacts, "rows": {k: v for k, v in built.items() if k != "build_seconds"},
            "build_seconds": built["build_seconds"], "count": count, "seconds": seconds, "alternatives": measured,
            "opted_out_alone": alone}


def print_results(results: list[dict]) -> None:
    """The figures as the README shows them."""
    first = results[0]
    print(f"## Segment count: {first['contacts']:,} contacts "
          f"({first['rows']['contact_tag']:,} tag rows, {first['rows']['contact_field']:,} field rows, "
          f"{first['rows']['consent_entry']:,} ledger rows)\n")
    print("Rule: tag diabetic AND field visits gt 5 AND consent sms:marketing\n")
    names = list(first["alternatives"])
    print(f"{'database':<11} {'matching':>9} {'build (s)':>10} {'core (s)':>9} " + " ".join(f"{n:>28}" for n in names))
    for row in results:
        print(f"{row['database']:<11} {row['count']:>9,} {row['build_seconds']:>10.1f} {row['seconds']:>9.3f} "
              + " ".join(f"{row['alternatives'][n]:>28.3f}" for n in names))
    print("\nOne consent condition alone (opted_out: true), seconds:\n")
    alone = list(first["opted_out_alone"])
    print(f"{'database':<11} " + " ".join(f"{n:>20}" for n in alone))
    for row in results:
        print(f"{row['database']:<11} " + " ".join(f"{row['opted_out_alone'][n]:>20.3f}" for n in alone))
    print()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5, help="runs per shape; the median is reported")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        results = [segment_count_bench(f"sqlite:///{Path(tmp) / 'segments.db'}", args.contacts, args.rounds)]
        pg, reason = postgres_url()
        if pg:
            results.append(segment_count_bench(pg, args.contacts, args.rounds))
    print_results(results)
    if not pg:
        print(f"PostgreSQL skipped: {reason}.")


if __name__ == "__main__":
    main()
