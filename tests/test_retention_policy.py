"""The retention rule as a table: when each kind of message falls due, and what is never due."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from messaging.retention.policy import RetentionFacts, content_due_at, is_due

T = datetime(2030, 3, 1, 9, 0)
DAY = timedelta(days=1)
TTL = timedelta(hours=168)


def secure(**kw) -> RetentionFacts:
    return RetentionFacts(**{"direction": "out", "mode": "secure", "status": "sent", "created_at": T,
                             "expires_at": T + 7 * DAY, **kw})


def standard(**kw) -> RetentionFacts:
    return RetentionFacts(**{"direction": "out", "mode": "standard", "status": "delivered", "created_at": T,
                             "first_sent_at": T + timedelta(hours=2), **kw})


def inbound(**kw) -> RetentionFacts:
    return RetentionFacts(**{"direction": "in", "mode": "standard", "status": "received", "created_at": T, **kw})


def reply(parent=None, created_at=T + DAY) -> RetentionFacts:
    return RetentionFacts(direction="in", mode="secure", status="received", created_at=created_at,
                          parent=parent or secure())


CASES = [
    # (what, facts, retention_days, due)
    ("secure: N days after the link expired", secure(), 30, T + 7 * DAY + 30 * DAY),
    ("secure, expired early after its first view", secure(expires_at=T + timedelta(hours=1)), 30,
     T + timedelta(hours=1) + 30 * DAY),
    ("secure without an expiry: from creation plus the link lifetime", secure(expires_at=None), 30,
     T + TTL + 30 * DAY),
    ("secure, revoked: still from its expiry", secure(status="revoked"), 30, T + 37 * DAY),
    ("secure, suppressed (never sent): from its expiry", secure(status="suppressed"), 10, T + 17 * DAY),
    ("standard: N days after it was first sent", standard(), 30, T + timedelta(hours=2) + 30 * DAY),
    ("standard never sent (failed): from creation", standard(status="failed", first_sent_at=None), 30, T + 30 * DAY),
    ("standard cancelled: from creation", standard(status="cancelled", first_sent_at=None), 1, T + DAY),
    ("inbound text: N days after it arrived", inbound(), 30, T + 30 * DAY),
    ("a reply goes with its secure message", reply(), 30, T + 37 * DAY),
    ("a reply written after its message fell due: its own N days",
     reply(created_at=T + 40 * DAY), 30, T + 70 * DAY),
    ("an inbound reply to a standard message: its own N days",
     RetentionFacts(direction="in", mode="standard", status="received", created_at=T + DAY, parent=standard()),
     30, T + 31 * DAY),
    ("0 keeps a secure message for ever", secure(), 0, None),
    ("0 keeps a standard message for ever", standard(), 0, None),
    ("0 keeps an inbound text for ever", inbound(), 0, None),
    ("queued: never", standard(status="queued", first_sent_at=None), 1, None),
    ("scheduled: never", secure(status="scheduled"), 1, None),
    ("a delivery still pending (a retry): not yet", standard(pending_deliveries=1), 1, None),
    ("a reply whose message still has a pending delivery: not yet", reply(parent=secure(pending_deliveries=1)), 1,
     None),
]


@pytest.mark.parametrize(("facts", "days", "due"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_when_content_falls_due(facts, days, due):
    assert content_due_at(facts, days, TTL) == due
    if due is not None:
        assert not is_due(facts, due - timedelta(seconds=1), days, TTL)
        assert is_due(facts, due, days, TTL)
    else:
        assert not is_due(facts, T + 100_000 * DAY, days, TTL)
