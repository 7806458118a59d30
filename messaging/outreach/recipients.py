"""Who of an audience is sent to, and why the others are not: one pure rule for broadcasts and campaigns.

A contact is counted in the first outcome that applies: ``opted_out`` (transactional consent on
the channel withdrawn — STOP, staff, the API or an import), ``no_consent`` (the purpose the
situation needs is not granted: marketing for situations recommended ``standard_opt_in``,
transactional for the others), ``unreachable`` (no number or address for the channel),
``frequency_capped`` (the cap would be broken), else ``to_send``. (``duplicates`` comes before
all of these but is a property of the segments, not of the contact: see ``broadcast_audience``.)
"""
from __future__ import annotations

from dataclasses import dataclass

SUPPRESSED_OUTCOMES = ("opted_out", "no_consent", "unreachable", "frequency_capped")
OUTCOME_REASONS = {
    "opted_out": "opted out of {channel} messages",
    "no_consent": "no {purpose} consent for {channel}",
    "unreachable": "no {address} for {channel}",
    "frequency_capped": "over the frequency cap",
}


@dataclass(frozen=True)
class RecipientFacts:
    """What the rule reads of a contact: where it can be reached."""

    contact_id: int
    phone: str | None
    email: str | None


def needs_marketing(situation) -> bool:
    """Whether the situation's messages need marketing consent (recommended standard_opt_in)."""
    return situation is not None and situation.recommendation == "standard_opt_in"


def address_of(facts: RecipientFacts, channel: str) -> str | None:
    """The contact's e-mail address or phone number for ``channel``."""
    return facts.email if channel == "email" else facts.phone


def classify(facts: RecipientFacts, channel: str, marketing: bool, consent: dict, capped: bool) -> str:
    """The outcome of one contact (``consent`` as ``people.consent.states_for`` gives it)."""
    states = consent.get(channel, {})
    if not states.get("transactional", True):
        return "opted_out"
    if marketing and not states.get("marketing", False):
        return "no_consent"
    if not address_of(facts, channel):
        return "unreachable"
    if capped:
        return "frequency_capped"
    return "to_send"


def outcome_reason(outcome: str, channel: str, marketing: bool) -> str:
    """The sentence shown beside a suppressed recipient, e.g. "no marketing consent for sms"."""
    return OUTCOME_REASONS[outcome].format(
        channel=channel, purpose="marketing" if marketing else "transactional",
        address="e-mail address" if channel == "email" else "phone number")
