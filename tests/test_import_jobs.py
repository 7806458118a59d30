"""Imports in the background: the scheduler's job runs them, a dead worker's import resumes where it stopped,
two workers never import a row twice, and the file is stored encrypted until it is done."""
from __future__ import annotations

import io
import threading
import time
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet

import messaging.audience.import_runner as runner_module
from app import create_app
from messaging.audience.import_jobs import create_import, rejected_rows, start_import
from messaging.audience.import_runner import claim_import, run_import, run_pending_imports
from messaging.audit import SYSTEM
from messaging.db import db
from messaging.delivery.scheduler import import_job
from messaging.models import Contact, ContactImport, ContactImportChunk, ContactImportReject
from messaging.security.key_rotation import rotate_master_keys
from tests.support.app import app_config, dispose

ROWS = 23


def csv_file(rows: int = ROWS, bad_every: int = 0) -> bytes:
    lines = ["first_name,last_name,phone,email,visit"]
    for n in range(rows):
        phone = "not a phone" if bad_every and n % bad_every == 0 else f"+1415555{n:04d}"
        # Every third row has a quoted two-line field, so rows and file lines differ.
        visit = f'"2025-03-{n % 28 + 1:02d}\nroom {n}"' if n % 3 == 0 else f"2025-04-{n % 28 + 1:02d}"
        lines.append(f"Client{n},Secret{n},{phone},c{n}@example.com,{visit}")
    return ("\n".join(lines) + "\n").encode()


def queued_import(app, data: bytes, status: str = "pending") -> int:
    """An import uploaded and started (``pending``), as the console leaves it."""
    with app.app_context():
        contact_import = create_import(SYSTEM, "list.csv", io.BytesIO(data))
        if status == "pending":
            start_import(contact_import, contact_import.mapping)
        db.session.commit()
        return contact_import.id


def state(app, import_id: int) -> ContactImport:
    with app.app_context():
        contact_import = db.session.get(ContactImport, import_id)
        db.session.expunge(contact_import)
        return contact_import


def phones(app) -> list[str]:
    with app.app_context():
        return list(db.session.execute(db.select(Contact.phone).order_by(Contact.phone)).scalars())


def chunk_count(app, import_id: int) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(ContactImportChunk)
                                 .filter_by(import_id=import_id))


def test_the_scheduler_job_runs_a_pending_import_to_its_end_and_deletes_the_file(app, monkeypatch):
    monkeypatch.setattr(runner_module, "BATCH_SIZE", 5)
    import_id = queued_import(app, csv_file(bad_every=7))
    assert chunk_count(app, import_id) == 1
    import_job(app)
    done = state(app, import_id)
    assert (done.status, done.created, done.updated, done.rejected) == ("done", ROWS - 4, 0, 4)
    assert done.processed_bytes == done.total_bytes and done.finished_at is not None
    assert chunk_count(app, import_id) == 0
    assert len(phones(app)) == ROWS - 4


def test_a_draft_is_not_run_until_it_is_started(app):
    import_id = queued_import(app, csv_file(), status="draft")
    import_job(app)
    assert state(app, import_id).status == "draft"
    assert phones(app) == []


def test_the_file_and_the_rejected_rows_are_stored_encrypted(app, monkeypatch):
    import_id = queued_import(app, csv_file(bad_every=5))
    with app.app_context():
        token = db.session.execute(db.select(ContactImportChunk.ciphertext).filter_by(import_id=import_id)).scalar()
        assert b"Secret1" not in token and b"Client1" not in token
    import_job(app)
    with app.app_context():
        rejects = db.session.execute(db.select(ContactImportReject).filter_by(import_id=import_id)).scalars().all()
        assert rejects and all(b"Secret" not in r.row_ciphertext for r in rejects)
        rows = list(rejected_rows(db.session.get(ContactImport, import_id)))
    assert rows[0][0] == 2 and rows[0][2][:3] == ["Client0", "Secret0", "not a phone"]


def test_an_import_whose_worker_died_mid_file_resumes_at_next_line_and_imports_every_row_once(app, clock):
    clock.ahead()
    import_id = queued_import(app, csv_file())
    with app.app_context():
        assert claim_import(import_id, "worker-that-dies")
        assert run_import(import_id, "worker-that-dies", batch_size=4, max_batches=2) == "paused"
    half = state(app, import_id)
    assert (half.status, half.created) == ("running", 8)
    assert half.next_line == 2 + 8 + 3  # eight rows, three of them two lines long
    assert 0 < half.processed_bytes < half.total_bytes
    import_job(app)  # the lease still holds: nobody else may take it
    assert state(app, import_id).created == 8
    clock.at(half.lease_until + timedelta(seconds=1))
    import_job(app)
    done = state(app, import_id)
    assert (done.status, done.created, done.updated, done.rejected) == ("done", ROWS, 0, 0)
    assert phones(app) == sorted(f"+1415555{n:04d}" for n in range(ROWS))


def test_a_worker_that_dies_inside_a_batch_leaves_that_batch_unwritten_and_the_next_worker_writes_it(
        app, clock, monkeypatch):
    start = clock.ahead()
    import_id = queued_import(app, csv_file())
    monkeypatch.setattr(runner_module, "BATCH_SIZE", 4)
    real_upsert = runner_module.upsert_contacts
    calls = []

    def dying_upsert(*args, **kwargs):
        calls.append(1)
        outcomes = real_upsert(*args, **kwargs)
        if len(calls) == 3:
            raise RuntimeError("the worker's process was killed here")
        return outcomes

    monkeypatch.setattr(runner_module, "upsert_contacts", dying_upsert)
    with pytest.raises(RuntimeError):
        import_job(app)
    assert state(app, import_id).created == 8 and len(phones(app)) == 8
    monkeypatch.setattr(runner_module, "upsert_contacts", real_upsert)
    clock.at(start + timedelta(seconds=app.config["IMPORT_LEASE_SECONDS"] + 1))
    import_job(app)
    assert state(app, import_id).created == ROWS
    assert phones(app) == sorted(f"+1415555{n:04d}" for n in range(ROWS))


def test_a_worker_whose_lease_was_taken_over_writes_nothing_more(app, clock):
    start = clock.ahead()
    import_id = queued_import(app, csv_file())
    with app.app_context():
        assert claim_import(import_id, "slow")
        assert run_import(import_id, "slow", batch_size=4, max_batches=1) == "paused"
    clock.at(start + timedelta(seconds=app.config["IMPORT_LEASE_SECONDS"] + 1))
    with app.app_context():
        assert claim_import(import_id, "fast")
        assert run_import(import_id, "slow", batch_size=4) == "lost"
        assert run_import(import_id, "fast", batch_size=4) == "done"
    assert state(app, import_id).created == ROWS
    assert len(phones(app)) == ROWS


def test_two_workers_racing_for_the_same_import_import_each_row_once(app, monkeypatch):
    monkeypatch.setattr(runner_module, "BATCH_SIZE", 3)
    import_id = queued_import(app, csv_file())
    barrier = threading.Barrier(2)
    ran, errors = [], []

    def worker():
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                ran.append(run_pending_imports())
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(ran) == [0, 1]
    done = state(app, import_id)
    assert (done.status, done.created, done.updated) == ("done", ROWS, 0)
    assert phones(app) == sorted(f"+1415555{n:04d}" for n in range(ROWS))


def test_key_rotation_rewraps_import_keys_so_rejected_rows_open_under_the_new_key_alone(make_app, tmp_path):
    first = make_app()
    import_id = queued_import(first, csv_file(bad_every=5))
    import_job(first)
    with first.app_context():
        lines = [row[0] for row in rejected_rows(db.session.get(ContactImport, import_id))]
    assert lines == [2, 9, 16, 22, 29]
    old_key, new_key = first.config["ENCRYPTION_KEYS"][0], Fernet.generate_key().decode()
    apps = []
    try:
        for keys in ([new_key, old_key], [new_key]):
            apps.append(create_app(app_config(tmp_path, ENCRYPTION_KEYS=keys, SECRET_KEY=first.config["SECRET_KEY"])))
        with apps[0].app_context():
            report = rotate_master_keys(SYSTEM)
            assert {c.label: c.rotated for c in report.columns}["import keys"] == 1
        with apps[1].app_context():
            rows = list(rejected_rows(db.session.get(ContactImport, import_id)))
            assert [row[0] for row in rows] == lines
    finally:
        for other in apps:
            dispose(other)


def test_the_scheduler_of_a_web_process_picks_up_a_started_import(make_app):
    app = make_app(TESTING=False, SCHEDULER_ENABLED=True, SCHEDULER_INTERVAL_SECONDS=0.2)
    import_id = queued_import(app, csv_file())
    app.test_client().get("/login")
    scheduler = app.extensions["sealed.scheduler"]
    try:
        deadline = time.monotonic() + 20
        while state(app, import_id).status != "done" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert state(app, import_id).created == ROWS
    finally:
        scheduler.shutdown(wait=True)
