"""The client's pages: what a landing GET and a PIN check cost, against a static file in the same run.

Through the Flask test client (no network), SQLite file or PostgreSQL:
- baseline: GET of the viewer's stylesheet (routing, headers, no database);
- landing: GET /m/<token> of one link, repeatedly — the first open writes a ``link_opened`` row,
  later ones within five minutes add to its count;
- wrong PIN: POST /m/<token> with a wrong PIN — claim the attempt (two conditional UPDATEs and a
  commit), check the PIN, record the outcome; the lock is lifted between rounds so every request
  is really checked. argon2 runs with cheap parameters here so the database work shows; in
  production the hash (~100 ms) dwarfs everything else.

Run: ``.venv/bin/python -m bench.viewer [--requests N]``. PostgreSQL when ``BENCH_DATABASE_URL``
(or else ``TEST_DATABASE_URL``) answers — its tables are DROPPED and re-created.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import text, update

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from messaging.audit import SYSTEM  # noqa: E402
from messaging.db import db  # noqa: E402
from messaging.messages import MessageRequest, link_for, send_message  # noqa: E402
from messaging.models import Contact, Message  # noqa: E402
from seeds import seed  # noqa: E402
from seeds.factories import make_contact  # noqa: E402

CHEAP_ARGON2 = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


def make_app(url: str):
    app = create_app({
        "TESTING": True, "SECRET_KEY": "bench-" + os.urandom(8).hex(),
        "ENCRYPTION_KEYS": [Fernet.generate_key().decode()], "SQLALCHEMY_DATABASE_URI": url,
        "SCHEDULER_ENABLED": False, "PUBLIC_BASE_URL": "http://bench.local", "ARGON2_PARAMS": CHEAP_ARGON2,
        "RATELIMIT_ENABLED": False,
    })
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()
        seed()
    return app


def per_second(fn, requests: int) -> float:
    start = time.perf_counter()
    for _ in range(requests):
        fn()
    return requests / (time.perf_counter() - start)


def run(url: str, requests: int, rounds: int) -> dict[str, float]:
    app = make_app(url)
    client = app.test_client()
    with app.app_context():
        contact = make_contact(pin="2468")
        message = send_message(MessageRequest(contact=contact, channel="sms", body="Bench body", secure=True,
                                              require_pin=True), SYSTEM)
        db.session.commit()
        path = link_for(message).removeprefix("http://bench.local")
        message_id, contact_id = message.id, contact.id

    def unlock():
        # Only the columns this version of the schema has, so the same script measures older code.
        with app.app_context():
            for model, row_id in ((Message, message_id), (Contact, contact_id)):
                values = {name: None if name.endswith("until") else 0
                          for name in ("pin_failures", "locked_until", "pin_locked_until", "pin_lock_count")
                          if name in model.__table__.c}
                db.session.execute(update(model).where(model.id == row_id).values(values))
            db.session.commit()

    def wrong_pin():
        assert client.post(path, data={"pin": "1357"}).status_code in (403, 423)

    def wrong_pins(n: int) -> float:
        # Four wrong PINs, then unlock, so every request is checked rather than refused by the lock.
        start = time.perf_counter()
        done = 0
        while done < n:
            for _ in range(4):
                wrong_pin()
            done += 4
            unlock()
        return done / (time.perf_counter() - start)

    figures: dict[str, list[float]] = {"baseline": [], "landing": [], "wrong PIN": []}
    for _ in range(rounds):
        figures["baseline"].append(per_second(lambda: client.get("/m/_/static/viewer.css").close(), requests))
        figures["landing"].append(per_second(lambda: client.get(path).close(), requests))
        figures["wrong PIN"].append(wrong_pins(requests))
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return {name: statistics.median(values) for name, values in figures.items()}


def report(name: str, figures: dict[str, float]) -> None:
    base = figures["baseline"]
    print(f"{name}: baseline (static file) {base:,.0f}/s")
    for key in ("landing", "wrong PIN"):
        print(f"  {key:<10} {figures[key]:>8,.0f}/s   {figures[key] / base:6.1%} of baseline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report("SQLite", run(f"sqlite:///{tmp}/bench.db", args.requests, args.rounds))
    pg = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if pg:
        pg = pg.replace("postgresql://", "postgresql+psycopg://", 1)
        report("PostgreSQL", run(pg, args.requests, args.rounds))


if __name__ == "__main__":
    main()
