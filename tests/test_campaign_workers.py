"""Two `flask --app wsgi campaigns run` processes at once on one PostgreSQL database: every step of every
enrolment queued exactly once, none left, nothing doubled; a third pass afterwards finds nothing to do."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from bench.workload import make_contacts
from messaging.audience.segments import create_segment
from messaging.audit import SYSTEM
from messaging.db import db
from messaging.outreach.campaign_states import activate_campaign
from messaging.outreach.campaigns import create_campaign
from seeds.factories import make_template
from tests.support.app import TEST_DATABASE_URL, postgres_available, sqlalchemy_url
from tests.support.workers import REPO, worker_env

CONTACTS = 3000
QUEUED = re.compile(r"(\d+) queued")

pytestmark = pytest.mark.postgres


def campaigns_run(env: dict, log) -> subprocess.Popen:
    """One `flask --app wsgi campaigns run` process, its output to ``log``."""
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "campaigns", "run"], cwd=REPO, env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)


def test_two_campaign_passes_at_once_double_nothing(make_app, tmp_path):
    reason = postgres_available()
    if reason:
        pytest.skip(f"needs PostgreSQL (two processes racing for the same rows): {reason}")
    app = make_app()
    with app.app_context():
        make_contacts(CONTACTS)
        segment = create_segment(SYSTEM, "Everyone in English",
                                 {"match": "all", "conditions": [{"field": "contact.language", "op": "eq",
                                                                  "value": "en"}]})
        make_template(slug="first", body="Hello {{ first_name }}")
        make_template(slug="second", body="Still there, {{ first_name }}?")
        # Step 2 is due as soon as step 1 has gone: each pass works both, so the racers meet twice.
        campaign = create_campaign(SYSTEM, name="Race", segment_id=segment.id, steps=[
            {"template": "first", "delay": {"after": "enrolment", "minutes": 0}},
            {"template": "second", "delay": {"after": "previous", "minutes": 0}}])
        db.session.flush()
        activate_campaign(SYSTEM, campaign)
        db.session.commit()
        campaign_id = campaign.id
    env = worker_env(app, TEST_DATABASE_URL, FANOUT_BATCH_SIZE=100)
    logs = [tmp_path / "pass-a.log", tmp_path / "pass-b.log"]
    passes = [campaigns_run(env, log) for log in logs]
    codes = [p.wait(timeout=300) for p in passes]
    outputs = [log.read_text() for log in logs]
    assert codes == [0, 0], "\n".join(o[-3000:] for o in outputs)
    queued = [sum(int(n) for n in QUEUED.findall(o)) for o in outputs]
    assert sum(queued) == 2 * CONTACTS, outputs

    engine = create_engine(sqlalchemy_url(TEST_DATABASE_URL))
    try:
        with engine.connect() as conn:
            def scalar(sql: str):
                return conn.execute(text(sql), {"c": campaign_id}).scalar()

            assert scalar("SELECT count(*) FROM message WHERE campaign_step_id IS NOT NULL") == 2 * CONTACTS
            assert scalar("SELECT count(DISTINCT (campaign_step_id, contact_id)) FROM message") == 2 * CONTACTS
            assert scalar("SELECT count(*) FROM delivery") == 2 * CONTACTS
            assert scalar("SELECT count(*) FROM message_event WHERE kind = 'queued'") == 2 * CONTACTS
            assert scalar("SELECT count(*) FROM campaign_step_run WHERE outcome = 'queued'") == 2 * CONTACTS
            assert scalar("SELECT count(*) FROM campaign_enrolment WHERE campaign_id = :c AND state = 'completed' "
                          "AND step = 3 AND claimed_by IS NULL") == CONTACTS
    finally:
        engine.dispose()

    third = tmp_path / "pass-c.log"
    assert campaigns_run(env, third).wait(timeout=120) == 0
    assert "0 queued" in third.read_text(), third.read_text()
