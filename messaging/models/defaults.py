"""Column defaults shared by the tables."""
from __future__ import annotations

import secrets
from datetime import datetime

from messaging import clock


def now() -> datetime:
    """Column default: read the clock at insert time, so a test that moves ``messaging.clock`` moves it too."""
    return clock.utcnow()


def new_public_id() -> str:
    """A random id that is safe to show outside (in links and the API), unlike the row's number."""
    return secrets.token_urlsafe(16)
