"""Fan-out: a broadcast to 100,000 contacts, and a campaign pass queueing one step for 100,000 enrolments.

For each database and each audience size (10,000 and 100,000 by default) it measures, on fresh tables:
- floor: what any fan-out of that many messages must do — per recipient a data key made and wrapped
  under the master key (``keyring().new_data_key()``), the body and the subject encrypted
  (``encrypt_content``), and the same three rows (message, delivery, ``queued`` event; the message
  with every column a broadcast's carries, its foreign keys and ``broadcast_id`` included) written
  with plain Core ``executemany`` inserts, one transaction per ``FANOUT_BATCH_SIZE`` recipients;
- broadcast: the real path — contacts created in bulk, one segment matching them all, a broadcast
  of the e-mail template ``booking-confirmation`` created and sent (``send_broadcast`` freezes the
  audience; timed on its own as "snapshot"), then ``run_broadcasts`` timed until the fan-out is done:
  recipients read in batches, decided, rendered, encrypted, queued, committed batch by batch;
- peak memory: Python's peak allocation (tracemalloc) during the fan-out of a second, identical
  broadcast to the same contacts (tracemalloc slows Python down, so it is not in the timed run);
- campaign: the same for one pass of ``run_campaigns_once`` queueing step 1 of a one-step campaign
  for every enrolment (skipped, with the reason printed, while the campaign core is not there).

Run: ``.venv/bin/python -m bench.fanout [--contacts N] [--small-contacts N] [--batch N]``. SQLite
always (a temporary file); PostgreSQL when ``BENCH_DATABASE_URL`` (or else ``TEST_DATABASE_URL``)
answers — its tables are DROPPED and re-created, so point it at a scratch database.
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import secrets
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.databases import fresh_app, postgres_or_say_why  # noqa: E402
from messaging.db import db  # noqa: E402

AREA_CODES = ("415", "212", "202", "312", "617", "646", "305", "206", "503", "702")
ZONES = ("America/Los_Angeles", "America/New_York", "America/Chicago", None)
TEMPLATE = "booking-confirmation"  # e-mail, situation booking_confirmation (standard): a subject and a body
RULE_EVERYONE = {"match": "all", "conditions": [{"opted_out": False}]}
CHUNK = 5_000
AIM_TIME, AIM_MEMORY = 2.0, 1.2


def make_contacts(count: int) -> None:
    """``count`` contacts with distinct phones and e-mails, inserted with Core in chunks."""
    from messaging.clock import utcnow
    from messaging.models import Contact

    now = utcnow()
    for start in range(0, count, CHUNK):
        db.session.execute(insert(Contact.__table__), [
            {"first_name": f"Client{n}", "last_name": f"Family{n % 997}",
             "phone": f"+1{AREA_CODES[n // 10_000 % len(AREA_CODES)]}555{n % 10_000:04d}",
             "email": f"client{n}@example.com", "tags": [], "form_data": {}, "language": "en",
             "timezone": ZONES[n % len(ZONES)], "pin_failures": 0, "pin_lock_count": 0,
             "created_at": now, "updated_at": now} for n in range(start, min(start + CHUNK, count))])
        db.session.commit()


def floor_message_values(actor) -> tuple[str, str, dict]:
    """What every floor message shares, worked out once: the rendered subject and body one recipient
    gets, and the columns a broadcast's message row carries (the decision, template, situation,
    creator and a broadcast of its own for ``broadcast_id``), so the floor writes the same rows."""
    from messaging.messages import render_content
    from messaging.models import Broadcast, Contact, Template
    from messaging.outreach.deciding import BulkLevel, bulk_decision, request_for
    from messaging.settings import get_settings

    template = db.session.execute(select(Template).filter_by(slug=TEMPLATE)).scalar_one()
    contact = db.session.execute(select(Contact).order_by(Contact.id).limit(1)).scalar_one()
    subject, body = render_content(request_for(contact, template, None, BulkLevel()), get_settings().org_name)
    decision = bulk_decision(template, None, BulkLevel(), contact)
    placeholder = Broadcast(name="Floor", segment_ids=[], template_id=template.id, created_by_id=actor.user_id)
    db.session.add(placeholder)
    db.session.commit()
    shared = {"direction": "out", "channel": template.channel, "mode": decision.mode,
              "require_pin": decision.require_pin, "pin_method": decision.pin_method,
              "decided_by": decision.decided_by, "pin_decided_by": decision.pin_decided_by,
              "recommendation": decision.recommendation, "warnings": decision.warning_dicts(),
              "override_reason": None, "situation_id": template.situation_id, "template_id": template.id,
              "created_by_id": actor.user_id, "api_key_id": None, "status": "queued", "expires_at": None,
              "broadcast_id": placeholder.id, "campaign_step_id": None}
    return subject, body, shared


def run_floor(batch: int, actor) -> float:
    """The floor: the Fernet work and the three plain inserts per recipient, nothing else."""
    from messaging.clock import utcnow
    from messaging.models import Contact, Delivery, Message, MessageEvent, new_public_id
    from messaging.security.crypto import encrypt_content, keyring

    subject, body, shared = floor_message_values(actor)
    recipients = db.session.execute(select(Contact.id, Contact.email).order_by(Contact.id)).all()
    db.session.commit()
    message, delivery, event = Message.__table__, Delivery.__table__, MessageEvent.__table__
    returning = insert(message).returning(message.c.id, sort_by_parameter_order=True)
    ring = keyring()
    started = time.perf_counter()
    with db.engine.connect() as conn:
        for start in range(0, len(recipients), batch):
            now = utcnow()
            rows = []
            for contact_id, _ in recipients[start:start + batch]:
                data_key, wrapped = ring.new_data_key()
                rows.append({**shared, "public_id": new_public_id(), "contact_id": contact_id, "data_key": wrapped,
                             "subject_ciphertext": encrypt_content(data_key, subject),
                             "body_ciphertext": encrypt_content(data_key, body), "created_at": now})
            with conn.begin():
                ids = conn.execute(returning, rows).scalars().all()
                conn.execute(insert(delivery), [
                    {"message_id": mid, "kind": "content", "channel": shared["channel"], "to_address": address,
                     "status": "queued", "next_attempt_at": now, "created_at": now, "attempts": 0,
                     "idempotency_key": secrets.token_hex(16)}
                    for mid, (_, address) in zip(ids, recipients[start:start + batch], strict=True)])
                conn.execute(insert(event), [{"message_id": mid, "kind": "queued", "at": now, "detail": {}}
                                             for mid in ids])
    elapsed = time.perf_counter() - started
    forget_messages()
    return elapsed


def forget_messages() -> None:
    """Delete every message with its deliveries and events, so the next run starts from the same tables."""
    db.session.commit()
    tables = ("message_event", "delivery", "broadcast_recipient", "campaign_step_run", "message")
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        return
    # With foreign keys on, SQLite checks every deleted message against message.reply_to_id, which
    # has no index: a scan per row, hours at 100,000. Off for the wipe (outside a transaction, where
    # the pragma takes effect), on again after.
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        for table in tables:
            conn.exec_driver_sql(f"DELETE FROM {table}")
        conn.commit()
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")


def queued_counts() -> tuple[int, int, int]:
    from messaging.models import Delivery, Message, MessageEvent

    return (db.session.execute(select(func.count(Message.id))).scalar_one(),
            db.session.execute(select(func.count(Delivery.id))).scalar_one(),
            db.session.execute(select(func.count(MessageEvent.id)).filter_by(kind="queued")).scalar_one())


def sent_broadcast(name: str, segment_id: int, actor) -> tuple[int, float]:
    """A broadcast created and sent (its audience frozen): its id and how long ``/send`` took."""
    from messaging.outreach.broadcast_states import send_broadcast
    from messaging.outreach.broadcasts import create_broadcast

    broadcast = create_broadcast(actor, name=name, segment_ids=[segment_id], template_slug=TEMPLATE)
    db.session.commit()
    started = time.perf_counter()
    send_broadcast(actor, broadcast)
    db.session.commit()
    return broadcast.id, time.perf_counter() - started


def fan_out_all(broadcast_id: int) -> float:
    """``run_broadcasts`` passes until the broadcast's fan-out is done; the seconds it took."""
    from messaging.models import Broadcast
    from messaging.outreach.broadcast_fanout import run_broadcasts

    started = time.perf_counter()
    while True:
        result = run_broadcasts(max_seconds=3600)
        if result.errors:
            raise RuntimeError(result.errors)
        db.session.expire_all()
        if db.session.get(Broadcast, broadcast_id).fanout_done_at is not None:
            return time.perf_counter() - started


def traced(run) -> tuple[object, int]:
    """``run()`` under tracemalloc: its result and the peak bytes Python allocated meanwhile."""
    gc.collect()
    tracemalloc.start()
    try:
        value = run()
        return value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def broadcast_section(url: str, count: int, batch: int) -> dict:
    from messaging.audience.segments import create_segment
    from messaging.audit import SYSTEM, Actor
    from seeds import seed
    from seeds.factories import make_user

    app = fresh_app(url, FANOUT_BATCH_SIZE=batch)
    with app.app_context():
        seed()
        make_contacts(count)
        actor = Actor.for_user(make_user(role="staff"))
        segment = create_segment(SYSTEM, "Everyone", RULE_EVERYONE)
        db.session.commit()
        floor = run_floor(batch, actor)
        broadcast_id, snapshot = sent_broadcast("Bench", segment.id, actor)
        seconds = fan_out_all(broadcast_id)
        assert queued_counts() == (count, count, count), queued_counts()
        forget_messages()
        second_id, _ = sent_broadcast("Bench again", segment.id, actor)
        _, peak = traced(lambda: fan_out_all(second_id))
        assert queued_counts() == (count, count, count), queued_counts()
        campaign = campaign_section(segment.id, actor, count)
        db.session.remove()
        db.engine.dispose()
    return {"count": count, "floor": floor, "snapshot": snapshot, "fanout": seconds, "peak": peak,
            "campaign": campaign}


def campaign_core_missing() -> str | None:
    """Why the campaign half cannot run yet, or None."""
    if importlib.util.find_spec("messaging.outreach.campaign_runner") is None:
        return "messaging/outreach/campaign_runner.py (run_campaigns_once) is not there yet"
    if "campaign_figures" not in globals():
        return "the campaign half of this benchmark is not written yet"
    return None


def campaign_section(segment_id: int, actor, count: int) -> dict | None:
    """A one-step campaign over the segment, activated; one ``run_campaigns_once`` pass timed, then
    a second campaign's pass under tracemalloc. None when the campaign core is missing."""
    if campaign_core_missing():
        return None
    forget_messages()
    return globals()["campaign_figures"](segment_id, actor, count)


def campaign_pass(name: str, segment_id: int, actor) -> tuple[float, float]:
    """A one-step campaign (step 1 due at enrolment) created and activated, then ``run_campaigns_once``
    passes until every enrolment's step is queued: (seconds to activate, seconds of the passes)."""
    from messaging.models import Campaign
    from messaging.outreach.campaign_runner import run_campaigns_once
    from messaging.outreach.campaign_states import activate_campaign, archive_campaign
    from messaging.outreach.campaigns import create_campaign

    for earlier in db.session.execute(select(Campaign).filter_by(status="active")).scalars():
        archive_campaign(actor, earlier)  # the pass visits only this one
    campaign = create_campaign(actor, name=name, segment_id=segment_id,
                               steps=[{"template": TEMPLATE, "delay": {"after": "enrolment", "minutes": 0}}])
    db.session.commit()
    started = time.perf_counter()
    activate_campaign(actor, campaign)
    db.session.commit()
    activated = time.perf_counter() - started
    started = time.perf_counter()
    while True:
        result = run_campaigns_once()
        if not result.tally.queued:
            return activated, time.perf_counter() - started


def campaign_figures(segment_id: int, actor, count: int) -> dict:
    """The campaign half for one audience size: timed pass, then a second campaign's pass traced."""
    activated, seconds = campaign_pass("Bench campaign", segment_id, actor)
    assert queued_counts() == (count, count, count), queued_counts()
    forget_messages()
    _, peak = traced(lambda: campaign_pass("Bench campaign again", segment_id, actor))
    assert queued_counts() == (count, count, count), queued_counts()
    return {"enrol": activated, "pass": seconds, "peak": peak}


def print_campaign(rows: list[dict], sizes: list[int]) -> None:
    print("## Campaign pass (one step, due at enrolment, same template; the floor is the broadcast's)\n")
    print(f"{'database':<11} {'enrolments':>10} {'activate s':>10} {'pass s':>8} {'queued/s':>9} "
          f"{'floor s':>8} {'pass ÷ floor':>13} {'peak MB':>8}")
    for row in rows:
        for size in sizes:
            r, c = row[size], row[size]["campaign"]
            print(f"{row['database']:<11} {size:>10,} {c['enrol']:>10.1f} {c['pass']:>8.1f} {size / c['pass']:>9,.0f} "
                  f"{r['floor']:>8.1f} {c['pass'] / r['floor']:>12.2f}× {c['peak'] / 1e6:>8.1f}")
    print()
    for row in rows:
        small, large = row[sizes[0]]["campaign"], row[sizes[-1]]["campaign"]
        growth = large["peak"] / small["peak"]
        worst = max(row[s]["campaign"]["pass"] / row[s]["floor"] for s in sizes)
        print(f"{row['database']:<11} time {worst:.2f}× ({'met' if worst <= AIM_TIME else 'missed'}), "
              f"memory {growth:.2f}× ({'met' if growth <= AIM_MEMORY else 'missed'})")
    print()


def machine() -> str:
    import os
    import platform
    import sqlite3

    return (f"{os.cpu_count()} cores, {platform.platform(terse=True)}, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}")


def postgres_version(url: str) -> str:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one()
    engine.dispose()
    return f"PostgreSQL {version.split()[0]}"


def print_results(rows: list[dict], sizes: list[int], batch: int) -> None:
    print(f"## Broadcast fan-out (e-mail template {TEMPLATE!r}, batch {batch})\n")
    print(f"{'database':<11} {'recipients':>10} {'snapshot s':>10} {'fan-out s':>10} {'fan-out/s':>10} "
          f"{'floor s':>8} {'fan-out ÷ floor':>16} {'peak MB':>8}")
    for row in rows:
        for size in sizes:
            r = row[size]
            print(f"{row['database']:<11} {size:>10,} {r['snapshot']:>10.1f} {r['fanout']:>10.1f} "
                  f"{size / r['fanout']:>10,.0f} {r['floor']:>8.1f} {r['fanout'] / r['floor']:>15.2f}× "
                  f"{r['peak'] / 1e6:>8.1f}")
    print(f"\nAim: fan-out within {AIM_TIME:.0f}× the floor; peak memory at {sizes[-1]:,} within "
          f"{AIM_MEMORY}× of that at {sizes[0]:,}.")
    for row in rows:
        small, large = row[sizes[0]], row[sizes[-1]]
        growth = large["peak"] / small["peak"]
        worst = max(row[s]["fanout"] / row[s]["floor"] for s in sizes)
        print(f"{row['database']:<11} time {worst:.2f}× ({'met' if worst <= AIM_TIME else 'missed'}), "
              f"memory {growth:.2f}× ({'met' if growth <= AIM_MEMORY else 'missed'})")
    print()
    reason = campaign_core_missing()
    if reason:
        print(f"## Campaign pass\n\nSkipped: {reason}.\n")
        return
    globals()["print_campaign"](rows, sizes)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000, help="the larger audience")
    parser.add_argument("--small-contacts", type=int, default=10_000, help="the smaller audience")
    parser.add_argument("--batch", type=int, default=500, help="FANOUT_BATCH_SIZE (and the floor's batch)")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args(argv)
    small = args.small_contacts if args.small_contacts < args.contacts else max(1, args.contacts // 10)
    sizes = [small, args.contacts]
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("SQLite", lambda size: f"sqlite:///{Path(tmp) / f'fanout-{size}.db'}")]
        pg = None if args.sqlite_only else postgres_or_say_why()
        if pg:
            targets.append(("PostgreSQL", lambda size: pg))
        rows = []
        for label, url_for in targets:
            row = {"database": label}
            for size in sizes:
                row[size] = broadcast_section(url_for(size), size, args.batch)
                print(f"{label} {size:,}: done", file=sys.stderr)
            rows.append(row)
    print(f"Machine: {machine()}" + (f", {postgres_version(pg)} on localhost" if pg else "") + "\n")
    print_results(rows, sizes, args.batch)


if __name__ == "__main__":
    main()
