"""The delivery engine on its own: claims, leases, retries, statuses, pacing, suppression."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from messaging.audit import SYSTEM
from messaging.clock import utcnow
from messaging.db import db
from messaging.delivery.claim import claim_due_deliveries
from messaging.delivery.engine import dispatch_once, dispatch_until_idle, render_outgoing
from messaging.delivery.outcomes import backoff_seconds, retry_now
from messaging.delivery.pacing import pace_for
from messaging.delivery.transports.base import TransportError
from messaging.delivery.transports.outbox import read_outbox
from messaging.messages import revoke_message
from messaging.models import Delivery, Message, OutboxEntry
from messaging.policy.optout import mark_opted_out
from seeds.factories import make_contact
from tests.support.messages import send
from tests.support.records import event_kinds


class FlakyTransport:
    """A transport that fails the first ``failures`` sends, then accepts (stands in for a provider)."""

    name = "flaky"
    transactional = False
    max_send_seconds = 0.1

    def __init__(self, failures: int, retryable: bool = True, code: str | None = None):
        self.failures, self.retryable, self.code, self.sent = failures, retryable, code, []

    def send(self, outgoing):
        from messaging.delivery.transports.base import SendResult

        if self.failures:
            self.failures -= 1
            raise TransportError("provider said no (503)", retryable=self.retryable, code=self.code)
        self.sent.append(outgoing)
        return SendResult(provider_id=f"flaky-{len(self.sent)}")


def _use_transport(app, channel, transport):
    app.extensions.setdefault("sealed.transports", {})[(channel, "outbox")] = transport


@pytest.mark.parametrize("attempt", range(1, 12))
def test_backoff_starts_near_thirty_seconds_doubles_and_never_exceeds_an_hour(attempt):
    ceiling = min(3600, 30 * 2 ** (attempt - 1))
    delays = [backoff_seconds(attempt) for _ in range(200)]
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len({round(d, 3) for d in delays}) > 1  # jittered, not one fixed delay
    assert max(delays) <= 3600


def test_a_claimed_row_is_not_claimed_again_until_its_lease_runs_out(ctx):
    contact = make_contact()
    send(contact, body="hello", secure=False)
    first = claim_due_deliveries(owner="worker-a", lease_seconds=60)
    assert len(first) == 1
    assert claim_due_deliveries(owner="worker-b", lease_seconds=60) == []
    later = utcnow() + timedelta(seconds=61)
    assert claim_due_deliveries(owner="worker-b", lease_seconds=60, now=later) == first
    delivery = db.session.get(Delivery, first[0])
    db.session.refresh(delivery)
    assert delivery.claimed_by == "worker-b" and delivery.attempts == 2 and delivery.status == "sending"


def test_a_dead_workers_rows_are_sent_once_after_the_lease(ctx):
    contact = make_contact()
    message = send(contact, body="Your appointment is on Tuesday", secure=False)
    claim_due_deliveries(owner="dead-worker", lease_seconds=30)  # claims, then "dies" without sending
    assert dispatch_once().claimed == 0
    result = dispatch_once(now=utcnow() + timedelta(seconds=31))
    assert result.sent == 1
    assert len(read_outbox(contact.phone)) == 1
    db.session.refresh(message)
    assert message.status == "sent"
    assert dispatch_once(now=utcnow() + timedelta(hours=1)).claimed == 0


def test_standard_message_goes_queued_sending_sent_and_events_follow(ctx):
    contact = make_contact()
    message = send(contact, body="See you Tuesday at 10", secure=False)
    delivery = message.deliveries[0]
    assert (message.status, delivery.status) == ("queued", "queued")
    assert dispatch_once().sent == 1
    db.session.refresh(delivery)
    db.session.refresh(message)
    assert delivery.status == "sent" and delivery.sent_at is not None and delivery.provider_id.startswith("outbox-")
    assert message.status == "sent"
    assert event_kinds(message) == ["queued", "sent"]


def test_failed_sends_retry_with_backoff_then_fail_with_the_providers_error(make_app):
    app = make_app(DELIVERY_MAX_ATTEMPTS=3)
    with app.app_context():
        flaky = FlakyTransport(failures=10)
        _use_transport(app, "sms", flaky)
        contact = make_contact()
        message = send(contact, body="hello", secure=False)
        delivery = message.deliveries[0]
        now = utcnow()
        for attempt in (1, 2):
            result = dispatch_once(now=now)
            assert result.retried == 1
            db.session.refresh(delivery)
            assert delivery.status == "queued" and delivery.attempts == attempt
            wait = (delivery.next_attempt_at - now).total_seconds()
            assert 15 * 2 ** (attempt - 1) - 1 <= wait <= 30 * 2 ** (attempt - 1) + 1
            assert dispatch_once(now=now).claimed == 0  # not before its time
            now = delivery.next_attempt_at
        assert dispatch_once(now=now).failed == 1
        db.session.refresh(delivery)
        db.session.refresh(message)
        assert delivery.status == "failed" and "503" in delivery.last_error
        assert message.status == "failed"
        assert event_kinds(message)[-1] == "failed"
        assert dispatch_once(now=now + timedelta(days=1)).claimed == 0


def test_a_permanent_error_fails_at_once_and_retry_now_sends_it(make_app):
    app = make_app()
    with app.app_context():
        flaky = FlakyTransport(failures=1, retryable=False, code="21211")
        _use_transport(app, "sms", flaky)
        message = send(make_contact(), body="hello", secure=False)
        assert dispatch_once().failed == 1
        delivery = message.deliveries[0]
        retry_now(delivery, SYSTEM)
        db.session.commit()
        assert message.status == "queued"
        assert dispatch_once().sent == 1
        db.session.refresh(message)
        assert message.status == "sent" and len(flaky.sent) == 1


def test_a_row_the_provider_accepted_is_never_sent_again(make_app):
    app = make_app()
    with app.app_context():
        flaky = FlakyTransport(failures=0)
        _use_transport(app, "sms", flaky)
        message = send(make_contact(), body="hello", secure=False)
        delivery = message.deliveries[0]
        # The worker died after the provider accepted; a status callback told us its id meanwhile.
        claim_due_deliveries(owner="dead", lease_seconds=5)
        db.session.refresh(delivery)
        delivery.provider_id = "SM-from-callback"
        db.session.commit()
        result = dispatch_once(now=utcnow() + timedelta(seconds=6))
        assert result.sent == 1 and flaky.sent == []
        db.session.refresh(delivery)
        assert delivery.status == "sent" and delivery.provider_id == "SM-from-callback"


def test_scheduled_message_waits_for_send_at_then_goes_and_its_status_moves_on(ctx):
    contact = make_contact()
    send_at = utcnow() + timedelta(hours=2)
    message = send(contact, body="Reminder", secure=False, send_at=send_at)
    assert message.status == "scheduled"
    assert dispatch_once().claimed == 0
    assert dispatch_once(now=send_at - timedelta(seconds=1)).claimed == 0
    assert dispatch_once(now=send_at + timedelta(seconds=1)).sent == 1
    db.session.refresh(message)
    assert message.status == "sent"


def test_revoked_message_is_never_sent(ctx):
    message = send(make_contact(), body="Lab results", secure=True)
    revoke_message(message, SYSTEM)
    db.session.commit()
    assert dispatch_once().sent == 0
    assert db.session.scalar(select(func.count(OutboxEntry.id))) == 0


def test_a_contact_who_opts_out_after_queueing_gets_nothing_and_the_send_is_suppressed(ctx):
    contact = make_contact()
    message = send(contact, body="Lab results are in", secure=True)
    mark_opted_out(contact, source="keyword")  # STOP arrived between queueing and sending
    db.session.commit()
    result = dispatch_once()
    assert result.suppressed == 1 and result.sent == 0
    delivery = message.deliveries[0]
    db.session.refresh(delivery)
    db.session.refresh(message)
    assert delivery.status == "suppressed" and "opted out" in delivery.last_error
    assert message.status == "suppressed" and "opted out" in message.suppressed_reason
    assert read_outbox(contact.phone) == []


def test_secure_notice_renders_only_org_first_name_and_link_and_never_decrypts_content(ctx):
    contact = make_contact(first_name="Ada", email="ada@example.com")
    message = send(contact, channel="email", body="Your HbA1c is 6.1", subject="Diabetes follow-up", secure=True)
    outgoing = render_outgoing(message.deliveries[0])
    for part in (outgoing.text, outgoing.html, outgoing.subject):
        assert "HbA1c" not in part and "Diabetes" not in part
    assert "/m/" in outgoing.text and 'href="http://127.0.0.1:5000/m/' in outgoing.html
    assert outgoing.subject == "A secure message from Sealed demo clinic"


def test_secure_message_by_voice_says_one_is_waiting_and_sends_the_link_by_sms(ctx):
    contact = make_contact(first_name="Ada")
    message = send(contact, channel="voice", body="Your biopsy was benign", secure=True)
    first = dispatch_once()
    assert first.sent == 1
    call = [r for r in read_outbox(contact.phone) if r["channel"] == "voice"][0]
    assert "secure message" in call["speak"] and "biopsy" not in call["speak"] and "/m/" not in call["speak"]
    assert dispatch_once().sent == 1  # the link, by SMS
    sms = [r for r in read_outbox(contact.phone) if r["channel"] == "sms"]
    assert len(sms) == 1 and "/m/" in sms[0]["body"] and "biopsy" not in sms[0]["body"]
    assert dispatch_once(now=utcnow() + timedelta(minutes=5)).claimed == 0
    db.session.refresh(message)
    assert message.status == "sent"


def test_standard_message_by_voice_speaks_the_content(ctx):
    contact = make_contact()
    send(contact, channel="voice", body="Your appointment is Tuesday at ten", secure=False)
    assert dispatch_once().sent == 1
    [call] = read_outbox(contact.phone)
    assert call["speak"] == "Your appointment is Tuesday at ten"


def test_pace_holds_a_whole_message_per_window_even_at_low_rates():
    assert pace_for(0, "sms", 3) is None
    assert pace_for(10, "sms", 3).per_window == 30
    slow = pace_for(0.1, "sms", 3)
    assert (slow.per_window, slow.window_seconds) == (1, 10.0)


def test_a_paced_channel_claims_no_more_than_it_may_send_in_its_window(make_app):
    app = make_app(SMS_RATE_PER_SECOND=2, SCHEDULER_INTERVAL_SECONDS=3)
    with app.app_context():
        contact = make_contact()
        for i in range(20):
            send(contact, body=f"news {i}", secure=False)
        email = send(contact, channel="email", body="unpaced", secure=False, subject="hi")
        now = utcnow()
        first = dispatch_once(now=now)
        assert first.sent == 7  # 6 texts (2/s × 3 s) and the unpaced e-mail
        db.session.refresh(email)
        assert email.status == "sent"
        assert dispatch_once(now=now + timedelta(seconds=1)).claimed == 0  # the window's budget is spent
        assert dispatch_once(now=now + timedelta(seconds=3.5)).sent == 6
        assert len(read_outbox(contact.phone)) == 12


def test_a_pass_stops_before_its_lease_could_run_out_and_gives_the_rest_back(make_app):
    app = make_app(DELIVERY_LEASE_SECONDS=60)
    with app.app_context():
        slow = FlakyTransport(failures=0)
        slow.max_send_seconds = 59  # a send could outlast the lease: none may start
        _use_transport(app, "sms", slow)
        message = send(make_contact(), body="hello", secure=False)
        result = dispatch_once()
        assert result.claimed == 1 and result.released == 1 and slow.sent == []
        delivery = message.deliveries[0]
        db.session.refresh(delivery)
        assert delivery.status == "queued" and delivery.attempts == 0
        # a worker draining a backlog does not spin on rows it can never send
        started = time.monotonic()
        assert dispatch_until_idle(max_seconds=10).released == 1
        assert time.monotonic() - started < 2


def test_a_crashing_row_is_retried_and_does_not_take_the_batch_down(make_app):
    app = make_app()
    with app.app_context():
        contact = make_contact()
        good = send(contact, body="fine", secure=False)
        bad = send(contact, body="broken", secure=False)
        bad.data_key = b"not a wrapped key"  # decrypting it raises
        db.session.commit()
        result = dispatch_once()
        assert result.errors and result.retried == 1
        db.session.expire_all()
        assert db.session.get(Message, bad.id).deliveries[0].status == "queued"
        assert "internal error" in db.session.get(Message, bad.id).deliveries[0].last_error
        # the outbox's work in that batch was rolled back with it; those rows are queued again at once
        assert db.session.get(Message, good.id).deliveries[0].status == "queued"
        assert dispatch_once().sent == 1
        db.session.expire_all()
        assert db.session.get(Message, good.id).status == "sent"
        assert len(read_outbox(contact.phone)) == 1
