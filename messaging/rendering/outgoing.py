"""What the client receives, per channel: the one rendering behind both the preview and the send.

A secure message's notices (the first notice, renotices, the link after a call) hold the
organisation's name, the client's first name and the link, nothing of the content; a call only
says that a message is waiting. Everything else (a standard message, a one-time code) goes as its
own subject and text. The compose preview and the delivery engine both call ``outgoing_text``,
so what staff are shown is what the client gets.
"""
from __future__ import annotations

from dataclasses import dataclass

from messaging.rendering.email_html import html_from_text
from messaging.rendering.text import render_notice, voice_notice_text

LINK_CHANNEL = "sms"  # a secure message by voice: the call says one is waiting, the link follows by SMS


@dataclass(frozen=True)
class ClientFacts:
    """The plain values a client's text is made from; a notice uses only the first four."""

    org_name: str
    first_name: str | None
    link: str = ""
    notice_template: str | None = None  # the template's notification_text; None = the default notice
    subject: str | None = None
    body: str = ""


@dataclass(frozen=True)
class ClientText:
    """One send as the client gets it: the subject (e-mail), the text, and what a call says."""

    channel: str
    subject: str | None
    text: str
    speak: str | None = None

    @property
    def html(self) -> str | None:
        """The HTML half of an e-mail, made from its text half; None on other channels."""
        return html_from_text(self.text, self.subject) if self.channel == "email" else None


def notice_subject(org_name: str) -> str:
    """The subject of a secure notice by e-mail."""
    return f"A secure message from {org_name}"


def outgoing_text(channel: str, notice: bool, facts: ClientFacts) -> ClientText:
    """What one send on ``channel`` puts in front of the client: a secure notice, or the content as it is."""
    if not notice:
        return ClientText(channel, facts.subject, facts.body, speak=facts.body if channel == "voice" else None)
    if channel == "voice":
        spoken = voice_notice_text(facts.org_name, facts.first_name)
        return ClientText(channel, None, spoken, speak=spoken)
    text = render_notice(facts.org_name, facts.first_name, facts.link, facts.notice_template)
    return ClientText(channel, notice_subject(facts.org_name) if channel == "email" else None, text)


def preview_text(channel: str, secure: bool, facts: ClientFacts) -> tuple[str | None, str]:
    """The subject and text a preview shows: the first send, and for a secure call also the SMS with the link."""
    first = outgoing_text(channel, secure, facts)
    if secure and channel == "voice":
        link = outgoing_text(LINK_CHANNEL, True, facts)
        return None, f"Voice call: {first.text}\n\nThen by SMS: {link.text}"
    return first.subject, first.text
