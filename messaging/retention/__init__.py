"""Retention: message content destroyed ``retention_days`` after it stops being needed.

``shredding`` destroys one message's content by deleting its data key (shared with erasure);
``policy`` says, as a pure function, when a message's content falls due; ``runner`` finds the due
messages in batches and destroys them (``run_retention``: the nightly job and
``flask --app wsgi retention run [--dry-run]``).

May import only the foundation and ``security``.
"""
from messaging.retention.runner import RetentionReport, run_retention

__all__ = ["RetentionReport", "run_retention"]
