"""One place that says what time it is, so tests and the engine agree."""
from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC now: SQLite keeps no zone, so every stored time is naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)
