"""Pacing per transport: a claim takes no more rows than the transport may send in its window.

Rates are messages per second for a channel across *all* workers (``SMS_RATE_PER_SECOND``,
``EMAIL_RATE_PER_SECOND``, ``VOICE_RATE_PER_SECOND``; 0 = unlimited). The budget is a sliding
window over ``Delivery.claimed_at``: a claim may take ``rate × window`` rows minus those claimed
in the last ``window`` seconds. The count and the claim are one SQL statement; on PostgreSQL an
advisory lock per channel makes concurrent claimers take turns, on SQLite the write lock does.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select, text

from messaging.db import db
from messaging.models import Delivery

RATE_KEYS = {"sms": "SMS_RATE_PER_SECOND", "email": "EMAIL_RATE_PER_SECOND", "voice": "VOICE_RATE_PER_SECOND"}


@dataclass(frozen=True)
class Pace:
    """How many rows of one channel a claim may take per ``window_seconds``."""

    channel: str
    per_window: int
    window_seconds: float

    def remaining(self, now: datetime):
        """SQL expression: rows still allowed now (never negative; SQLite reads LIMIT -1 as 'no limit')."""
        used = select(func.count(Delivery.id)).where(
            Delivery.channel == self.channel,
            Delivery.claimed_at > now - timedelta(seconds=self.window_seconds)).scalar_subquery()
        return case((used >= self.per_window, 0), else_=self.per_window - used)


def pace_for(rate: float, channel: str, interval_seconds: float) -> Pace | None:
    """The pace of a channel sending ``rate`` per second from passes every ``interval_seconds``.

    The window is at least one pass long, and long enough to hold one whole message when the rate is
    below one per pass (0.1/s → one row per 10 s).
    """
    if not rate or rate <= 0:
        return None
    window = max(float(interval_seconds), 1.0 / rate)
    return Pace(channel=channel, per_window=max(1, math.floor(rate * window)), window_seconds=window)


def paces_from_config(config, interval_seconds: float | None = None) -> dict[str, Pace]:
    """The configured paces, by channel; channels without a rate are absent (unlimited)."""
    interval = interval_seconds if interval_seconds is not None else config["SCHEDULER_INTERVAL_SECONDS"]
    paces = {}
    for channel, key in RATE_KEYS.items():
        pace = pace_for(config[key], channel, interval)
        if pace is not None:
            paces[channel] = pace
    return paces


def take_turn(channel: str) -> None:
    """PostgreSQL: hold the channel's advisory lock until the claim commits, so two workers never
    both spend the same budget. SQLite has one writer at a time already."""
    if db.engine.dialect.name == "postgresql":
        key = zlib.crc32(f"sealed.pace.{channel}".encode())
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
