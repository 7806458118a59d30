"""STUB (owned by the retention helper): find due messages and destroy them."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RetentionReport:
    """What a retention pass destroyed (or, dry, would destroy)."""

    dry_run: bool = False
    messages: int = 0

    def summary(self) -> str:
        """One line for the CLI."""
        return f"{'Would destroy' if self.dry_run else 'Destroyed'} the content of {self.messages:,} messages."


def run_retention(actor, dry_run: bool = False, now=None) -> RetentionReport:
    """Destroy (or with ``dry_run`` only count) the content whose retention period has ended."""
    return RetentionReport(dry_run=dry_run)
