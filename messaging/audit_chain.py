"""STUB (owned by the audit helper): the tamper-evident chain of audit entries."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ChainReport:
    """What ``verify_chain`` found: entries checked and the first problem, if any."""

    checked: int = 0
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_chain() -> ChainReport:
    """Walk the chain from the first entry to the head."""
    return ChainReport()
