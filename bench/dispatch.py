"""Dispatch throughput: 20,000 queued deliveries through the outbox transport.

For each database it measures, on the same rows:
- baseline: plain SQL that only claims a batch (the engine's claim statement, no ORM) and marks it
  sent — the floor of what any engine on this table costs;
- engine: ``dispatch_once`` passes until the queue is empty (render, encrypt the outbox record,
  record the outcome and the ``sent`` event, update the message).

Run: ``.venv/bin/python -m bench.dispatch [--count N] [--batch N]``. SQLite always (a temporary
file); PostgreSQL when ``BENCH_DATABASE_URL`` (or else ``TEST_DATABASE_URL``) answers — its
tables are DROPPED and re-created, so point it at a scratch database.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.databases import fresh_app, postgres_or_say_why  # noqa: E402
from bench.workload import queue_messages  # noqa: E402
from messaging.db import db  # noqa: E402

CLAIM_SQL = {
    "sqlite": """UPDATE delivery SET status = 'sending', claimed_by = 'baseline', attempts = attempts + 1,
                 lease_until = :lease, claimed_at = :now
                 WHERE id IN (SELECT id FROM delivery WHERE status = 'queued' AND next_attempt_at <= :now
                              ORDER BY next_attempt_at, id LIMIT :limit) RETURNING id""",
    "postgresql": """UPDATE delivery SET status = 'sending', claimed_by = 'baseline', attempts = attempts + 1,
                     lease_until = :lease, claimed_at = :now
                     WHERE id IN (SELECT id FROM delivery WHERE status = 'queued' AND next_attempt_at <= :now
                                  ORDER BY next_attempt_at, id LIMIT :limit FOR UPDATE SKIP LOCKED) RETURNING id""",
}
OUTBOX_EVERYWHERE = {"SMS_TRANSPORT": "outbox", "EMAIL_TRANSPORT": "outbox", "VOICE_TRANSPORT": "outbox"}
MARK_SQL = "UPDATE delivery SET status = 'sent', sent_at = :now, lease_until = NULL WHERE id = :id"


def requeue() -> None:
    """Put every delivery back to queued and forget what was sent, so both runs see the same rows."""
    db.session.execute(text("DELETE FROM outbox_entry"))
    db.session.execute(text("DELETE FROM message_event"))
    db.session.execute(text("UPDATE delivery SET status = 'queued', attempts = 0, lease_until = NULL, "
                            "claimed_by = NULL, claimed_at = NULL, sent_at = NULL, provider_id = NULL"))
    db.session.execute(text("UPDATE message SET status = 'queued', notices_sent = 0"))
    db.session.commit()


def run_baseline(count: int, batch: int) -> float:
    from messaging.clock import utcnow

    claim = text(CLAIM_SQL["postgresql" if db.engine.dialect.name == "postgresql" else "sqlite"])
    done = 0
    started = time.perf_counter()
    with db.engine.connect() as conn:
        while True:
            now = utcnow()
            with conn.begin():
                ids = conn.execute(claim, {"now": now, "lease": now, "limit": batch}).scalars().all()
            if not ids:
                break
            with conn.begin():
                conn.execute(text(MARK_SQL), [{"now": now, "id": i} for i in ids])
            done += len(ids)
    elapsed = time.perf_counter() - started
    assert done == count, (done, count)
    return elapsed


def run_engine(count: int, batch: int) -> float:
    from messaging.delivery.engine import dispatch_once

    sent = 0
    started = time.perf_counter()
    while True:
        result = dispatch_once(limit=batch)
        if result.errors:
            raise RuntimeError(result.errors)
        sent += result.sent
        if not result.claimed:
            break
    elapsed = time.perf_counter() - started
    assert sent == count, (sent, count)
    outbox = db.session.execute(text("SELECT count(*) FROM outbox_entry")).scalar()
    assert outbox == count, (outbox, count)
    return elapsed


def bench(label: str, url: str, count: int, batch: int, rounds: int) -> dict:
    app = fresh_app(url, **OUTBOX_EVERYWHERE)
    with app.app_context():
        started = time.perf_counter()
        queue_messages(count, channel="sms", secure_every=4)
        queued_in = time.perf_counter() - started
        baseline, engine = [], []
        for _ in range(rounds):
            requeue()
            baseline.append(run_baseline(count, batch))
            requeue()
            engine.append(run_engine(count, batch))
        db.session.remove()
        db.engine.dispose()
    base, eng = statistics.median(baseline), statistics.median(engine)
    return {"database": label, "deliveries": count, "queue_seconds": queued_in,
            "baseline_per_s": count / base, "engine_per_s": count / eng, "ratio": base / eng}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1, help="runs per database; the median is reported")
    args = parser.parse_args(argv)
    targets = []
    with tempfile.TemporaryDirectory() as tmp:
        targets.append(("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}"))
        pg = postgres_or_say_why()
        if pg:
            targets.append(("PostgreSQL", pg))
        rows = [bench(label, url, args.count, args.batch, args.rounds) for label, url in targets]
    print(f"{args.count} deliveries, batch {args.batch}, outbox transport, "
          f"1 in 4 secure (notice) and 3 in 4 standard (content)")
    print(f"{'database':<11} {'engine/s':>9} {'baseline/s':>11} {'engine ÷ baseline':>18}")
    for row in rows:
        print(f"{row['database']:<11} {row['engine_per_s']:>9.0f} {row['baseline_per_s']:>11.0f} "
              f"{row['ratio']:>17.1%}")


if __name__ == "__main__":
    main()
