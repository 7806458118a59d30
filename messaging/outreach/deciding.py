"""The decision of a bulk send: the same ladder, content check and refusals as a one-off.

A broadcast's override sits at the one-off level ("secure — set by broadcast 'NAME'"); a
campaign's step or campaign mode at the campaign-step level. The decision is worked out once for
the whole send (on a sample recipient, as the preview shows it) and then per recipient only where
a recipient can change it: whether the contact has a PIN of their own.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from messaging.audit import Actor
from messaging.errors import PolicyRefused
from messaging.messages import MessageRequest, check_policy, decide_for
from messaging.models import Contact, Situation, Template
from messaging.policy.decision import Decision, LevelChoice


@dataclass(frozen=True)
class BulkLevel:
    """What a broadcast or campaign step sets: its level on the ladder and the words of its reason."""

    mode: str = "inherit"
    require_pin: bool | None = None
    label: str = ""
    campaign_step: bool = False  # False: a broadcast's override, at the one-off level

    def apply(self, request: MessageRequest) -> MessageRequest:
        if self.campaign_step:
            request.campaign_step = LevelChoice(self.mode, self.require_pin, label=self.label)
        else:
            request.secure = None if self.mode == "inherit" else self.mode == "secure"
            request.require_pin = self.require_pin
            request.one_off_label = self.label
        return request


def request_for(contact: Contact, template: Template, situation: Situation | None, level: BulkLevel) -> MessageRequest:
    """The one-off request a bulk send makes for one contact."""
    return level.apply(MessageRequest(contact=contact, channel=template.channel, template=template,
                                      situation=situation or template.situation))


def sample_contact() -> Contact:
    """A stand-in recipient for a decision before anyone is chosen: no PIN, default consent."""
    return Contact(first_name="", last_name="", form_data={}, tags=[])


def bulk_decision(template: Template, situation: Situation | None, level: BulkLevel,
                  contact: Contact | None = None) -> Decision:
    """The decision as it will apply, worked out on ``contact`` (or a stand-in)."""
    return decide_for(request_for(contact or sample_contact(), template, situation, level))


def check_bulk_policy(template: Template, situation: Situation | None, level: BulkLevel, decision: Decision,
                      actor: Actor, override_reason: str | None) -> None:
    """Refuse a blocked bulk send unless an admin gives a reason (PolicyRefused → 409 blocked_by_policy)."""
    request = request_for(sample_contact(), template, situation, level)
    request.override_reason = override_reason
    check_policy(request, decision, actor)


def refuse_if_blocked(decision: Decision) -> None:
    """For a pass with no person behind it: a decision still blocked is not sent."""
    if decision.blocked:
        raise PolicyRefused("Blocked by policy.")


@dataclass
class RecipientDecider:
    """Decisions per recipient, worked out once per kind of recipient (with or without a PIN)."""

    template: Template
    situation: Situation | None
    level: BulkLevel
    _cache: dict = field(default_factory=dict)

    def for_contact(self, contact: Contact) -> Decision:
        key = contact.has_pin
        if key not in self._cache:
            self._cache[key] = bulk_decision(self.template, self.situation, self.level, contact)
        return self._cache[key]
