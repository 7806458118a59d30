"""`flask --app wsgi retention run [--dry-run]` and the scheduler's nightly job run the same pass."""
from __future__ import annotations

from datetime import timedelta

from messaging.db import db
from messaging.delivery.scheduler import retention_job
from messaging.models import Message
from seeds.factories import make_contact
from tests.support.records import audit_entries_in
from tests.support.retention import content_of, secure_scene, set_settings


def _due_scene(app, clock):
    with app.app_context():
        clock.ahead()
        set_settings(retention_days=7)
        scene = secure_scene(make_contact())
        clock.at(scene.message.expires_at + timedelta(days=7))
        return scene.message.id, scene.reply.id


def _body(app, message_id: int) -> str | None:
    with app.app_context():
        return content_of(db.session.get(Message, message_id))


def test_the_cli_dry_run_says_what_it_would_destroy_then_the_real_run_destroys_it(app, runner, clock):
    message_id, reply_id = _due_scene(app, clock)
    dry = runner.invoke(args=["retention", "run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.strip() == ("Would destroy the content of 2 messages (1 secure, 0 standard, 0 inbound, "
                                  "1 replies) kept longer than 7 days. Dry run: nothing was changed.")
    assert _body(app, message_id) == "Your results are ready"

    real = runner.invoke(args=["retention", "run"])
    assert real.exit_code == 0, real.output
    assert real.output.strip() == ("Destroyed the content of 2 messages (1 secure, 0 standard, 0 inbound, "
                                   "1 replies) kept longer than 7 days.")
    assert _body(app, message_id) is None and _body(app, reply_id) is None
    assert [e.detail["destroyed"] for e in audit_entries_in(app, "retention.run")] == [2]

    again = runner.invoke(args=["retention", "run"])
    assert again.output.startswith("Destroyed the content of 0 messages")


def test_the_cli_says_retention_is_off_when_days_is_zero(app, runner):
    result = runner.invoke(args=["retention", "run"])
    assert result.exit_code == 0
    assert "Retention is off (retention_days is 0): content is kept for ever" in result.output


def test_the_nightly_job_runs_the_pass(app, clock):
    message_id, _ = _due_scene(app, clock)
    retention_job(app)
    assert _body(app, message_id) is None
    (entry,) = audit_entries_in(app, "retention.run")
    assert entry.actor == "system" and entry.detail["secure"] == 1
