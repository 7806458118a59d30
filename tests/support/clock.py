"""The core's clock stopped at a chosen moment. The core reads time only through ``messaging.clock.utcnow``,
so patching that one attribute moves time for every part of it at once."""
from __future__ import annotations

from datetime import datetime, timedelta

import messaging.clock


class StoppedClock:
    """Stops ``messaging.clock.utcnow`` at a moment for one test; monkeypatch undoes it afterwards."""

    def __init__(self, monkeypatch):
        self._monkeypatch = monkeypatch
        self._real_utcnow = messaging.clock.utcnow

    def at(self, moment: datetime) -> datetime:
        """From now on the core reads ``moment`` as the time."""
        self._monkeypatch.setattr(messaging.clock, "utcnow", lambda: moment)
        return moment

    def ahead(self, **delta) -> datetime:
        """Stop the clock ``timedelta(**delta)`` after the real time now."""
        return self.at(self._real_utcnow() + timedelta(**delta))
