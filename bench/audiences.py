"""Audiences: importing 100,000 contacts from CSV (and, from bench/segments.py, counting segments).

For each database the import section measures, on the same generated file:
- floor: what any import of these rows must do — read the CSV, parse and validate each phone
  number, validate each e-mail address, look up the timezone, and write the same contact rows and
  consent ledger rows with plain Core ``executemany`` inserts, 1,000 per transaction;
- import: the real path — ``create_import`` (the file checked and stored as encrypted chunks),
  ``start_import`` and ``run_import`` (batches matched against existing contacts, validated,
  upserted, indexed for segments, progress committed per batch), as the console's background job
  and ``flask contacts import`` run it.
Then peak Python memory (tracemalloc) of the import at two file sizes: it should not grow with
the file.

Run: ``.venv/bin/python -m bench.audiences [--rows N]``. SQLite always (a temporary file);
PostgreSQL when ``BENCH_DATABASE_URL`` (or else ``TEST_DATABASE_URL``) answers — its tables are
DROPPED and re-created, so point it at a scratch database.
"""
from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.databases import fresh_app, postgres_or_say_why  # noqa: E402
from messaging.db import db  # noqa: E402

# Ten area codes whose 555 numbers are valid and lie in one zone each: 100,000 distinct phones.
AREA_CODES = ("415", "212", "202", "312", "617", "646", "305", "206", "503", "702")
TABLES = ("contact_import_reject", "contact_import_chunk", "contact_import", "contact_tag", "contact_field",
          "consent_entry", "contact")


def write_file(path: Path, rows: int) -> int:
    """A realistic export: names, phone in a local format, e-mail, tags, language, consent, two form fields."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["first_name", "last_name", "phone", "email", "tags", "language",
                         "sms_marketing_consent", "next_visit", "team"])
        for n in range(rows):
            area, number = AREA_CODES[n // 10_000 % len(AREA_CODES)], n % 10_000
            writer.writerow([f"Client{n}", f"Family{n % 997}", f"({area}) 555-{number:04d}", f"client{n}@example.com",
                             "patient;diabetes" if n % 4 == 0 else "patient", "es" if n % 5 == 0 else "en",
                             "yes" if n % 3 == 0 else "", f"2025-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
                             f"team-{n % 7}"])
    return path.stat().st_size


def empty_tables() -> None:
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    else:
        for table in TABLES:
            db.session.execute(text(f"DELETE FROM {table}"))
    db.session.commit()


def run_floor(path: Path) -> tuple[float, int]:
    """The floor: parse and validate the same values, and bulk-insert the same contact and ledger rows."""
    from messaging import clock
    from messaging.models import ConsentEntry, Contact
    from messaging.people.contacts import normalise_email, normalise_phone, timezone_for_phone

    contact, ledger = Contact.__table__, ConsentEntry.__table__
    statement = insert(contact).returning(contact.c.id, sort_by_parameter_order=True)
    started = time.perf_counter()
    written = 0
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        batch: list[list[str]] = []
        for row in reader:
            batch.append(row)
            if len(batch) == 1000:
                written += _floor_batch(batch, statement, ledger, clock, normalise_phone, normalise_email,
                                        timezone_for_phone)
                batch = []
        if batch:
            written += _floor_batch(batch, statement, ledger, clock, normalise_phone, normalise_email,
                                    timezone_for_phone)
    return time.perf_counter() - started, written


def _floor_batch(batch, statement, ledger, clock, normalise_phone, normalise_email, timezone_for_phone) -> int:
    now = clock.utcnow()
    rows, consents = [], []
    for first, last, phone, email, tags, language, consent, visit, team in batch:
        phone = normalise_phone(phone)
        rows.append({"first_name": first, "last_name": last, "phone": phone, "email": normalise_email(email),
                     "tags": tags.split(";"), "form_data": {"next_visit": visit, "team": team},
                     "language": language, "timezone": timezone_for_phone(phone), "pin_failures": 0,
                     "pin_lock_count": 0, "created_at": now, "updated_at": now})
        consents.append(consent == "yes")
    connection = db.session.connection()
    ids = [row[0] for row in connection.execute(statement, rows)]
    entries = [{"contact_id": contact_id, "channel": "sms", "purpose": "marketing", "granted": True, "at": now,
                "source": "import", "actor": "bench"} for contact_id, granted in zip(ids, consents, strict=True)
               if granted]
    if entries:
        connection.execute(insert(ledger), entries)
    db.session.commit()
    return len(ids)


def run_import(path: Path) -> tuple[float, dict]:
    """The real import, from the file on disk to the last committed batch."""
    from messaging.audience.import_jobs import create_import, start_import
    from messaging.audience.import_runner import run_import as run
    from messaging.audience.import_runner import worker_id
    from messaging.audit import SYSTEM
    from messaging.models import ContactImport

    started = time.perf_counter()
    worker = worker_id()
    with path.open("rb") as stream:
        contact_import = create_import(SYSTEM, path.name, stream)
        start_import(contact_import, contact_import.mapping, claim_for=worker)
    db.session.commit()
    import_id = contact_import.id
    outcome = run(import_id, worker)
    elapsed = time.perf_counter() - started
    done = db.session.get(ContactImport, import_id, populate_existing=True)
    assert outcome == "done", (outcome, done.error)
    return elapsed, {"created": done.created, "updated": done.updated, "rejected": done.rejected}


def peak_memory(path: Path) -> int:
    """Peak bytes Python allocated during one import of ``path`` (tracemalloc; slower, so timed apart)."""
    empty_tables()
    tracemalloc.start()
    try:
        run_import(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def import_section(label: str, url: str, rows: int, small: Path, large: Path, small_rows: int) -> dict:
    app = fresh_app(url)
    with app.app_context():
        empty_tables()
        floor_seconds, floor_rows = run_floor(large)
        assert floor_rows == rows, floor_rows
        empty_tables()
        import_seconds, counts = run_import(large)
        assert counts == {"created": rows, "updated": 0, "rejected": 0}, counts
        reimport_seconds, counts = run_import(large)
        assert counts == {"created": 0, "updated": rows, "rejected": 0}, counts
        memory = {small_rows: peak_memory(small), rows: peak_memory(large)}
        db.session.remove()
        db.engine.dispose()
    return {"database": label, "floor_per_s": rows / floor_seconds, "import_per_s": rows / import_seconds,
            "reimport_per_s": rows / reimport_seconds, "ratio": import_seconds / floor_seconds, "memory": memory}


def print_import(results: list[dict], rows: int, sizes: dict[int, int]) -> None:
    print(f"## Import: {rows:,} rows ({sizes[rows] / 1e6:.1f} MB of CSV)\n")
    print(f"{'database':<11} {'import rows/s':>14} {'re-import rows/s':>17} {'floor rows/s':>13} "
          f"{'import ÷ floor (time)':>22}")
    for row in results:
        print(f"{row['database']:<11} {row['import_per_s']:>14,.0f} {row['reimport_per_s']:>17,.0f} "
              f"{row['floor_per_s']:>13,.0f} {row['ratio']:>21.2f}×")
    print("\nPeak Python memory of one import (tracemalloc):\n")
    counts = sorted(sizes)
    print(f"{'database':<11} " + " ".join(f"{f'{n:,} rows':>14}" for n in counts))
    for row in results:
        print(f"{row['database']:<11} " + " ".join(f"{row['memory'][n] / 1e6:>11.1f} MB" for n in counts))
    print()


def segments_section(targets: list[tuple[str, str]], contacts: int, rounds: int) -> None:
    """Counting a three-condition segment over ``contacts`` contacts, on each database (bench/segments.py)."""
    from bench.segments import print_results, segment_count_bench

    results = []
    for label, url in targets:
        result = segment_count_bench(url, contacts, rounds)
        result["database"] = label
        results.append(result)
    print_results(results)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--small-rows", type=int, default=25_000, help="the smaller file of the memory comparison")
    parser.add_argument("--contacts", type=int, default=100_000, help="contacts of the segment count")
    parser.add_argument("--rounds", type=int, default=5, help="runs of the segment count; the median is reported")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp) / "small.csv", Path(tmp) / "large.csv"
        sizes = {args.small_rows: write_file(small, args.small_rows), args.rows: write_file(large, args.rows)}
        targets = [("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}")]
        pg = postgres_or_say_why()
        if pg:
            targets.append(("PostgreSQL", pg))
        results = [import_section(label, url, args.rows, small, large, args.small_rows) for label, url in targets]
        print_import(results, args.rows, sizes)
        segment_targets = [("SQLite", f"sqlite:///{Path(tmp) / 'segments.db'}")] + targets[1:]
        segments_section(segment_targets, args.contacts, args.rounds)


if __name__ == "__main__":
    main()
