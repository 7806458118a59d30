"""What the client receives, per channel: the one rendering behind both the preview and the send.

A secure message's notices (the first notice, renotices, the link after a call) hold the
organisation's name, the client's first name and the link, nothing of the content; a call only
says that a message is waiting. Everything else (a standard message, a one-time code) goes as its
own subject and text. The compose preview and the delivery engine both call ``outgoing_text``,
so what staff are shown is what the client gets.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from flask_babel import gettext

from messaging.errors import ValidationFailed
from messaging.rendering.email_html import html_from_text
from messaging.rendering.language import client_locale, speaking
from messaging.rendering.text import NOTICE_FIELDS, check_source, render_notice, undeclared_names, voice_notice_text

LINK_CHANNEL = "sms"  # a secure message by voice: the call says one is waiting, the link follows by SMS


@dataclass(frozen=True)
class ClientFacts:
    """The plain values a client's text is made from; a notice uses only the first four."""

    org_name: str
    first_name: str | None
    link: str = ""
    notice_template: str | None = None  # see notice_source; None = the built-in notice of ``language``
    subject: str | None = None
    body: str = ""
    language: str = "en"  # the contact's: every text made here is in it


@dataclass(frozen=True)
class ClientText:
    """One send as the client gets it: the subject (e-mail), the text, and what a call says."""

    channel: str
    subject: str | None
    text: str
    speak: str | None = None
    language: str = "en"

    @property
    def html(self) -> str | None:
        """The HTML half of an e-mail, made from its text half; None on other channels."""
        return html_from_text(self.text, self.subject, self.language) if self.channel == "email" else None


def notice_subject(org_name: str) -> str:
    """The subject of a secure notice by e-mail, in the current language."""
    return gettext("A secure message from %(org)s", org=org_name)


def notice_source(template, settings, language: str | None) -> str | None:
    """Which notice text a contact gets: the template's own notification text wins, then the
    organisation's text for the contact's language (setting ``notice_text_<lang>``); None means
    the built-in text, translated."""
    own = getattr(template, "notification_text", None) if template is not None else None
    if own:
        return own
    org_text = getattr(settings, f"notice_text_{client_locale(language)}", None) or None
    return org_text if org_text and notice_problem(org_text) is None else None


def notice_problem(source: str) -> str | None:
    """Why ``source`` cannot be a notice (a syntax error, a refused expression, a field other than
    the notice's own), or None. A setting is not checked like a template when saved, and a broken
    one must not stop every notice, so a broken organisation text falls back to the built-in one."""
    try:
        names = undeclared_names(check_source(source, "notice_text"))
    except ValidationFailed as exc:
        return str(exc)
    unknown = sorted(set(names) - set(NOTICE_FIELDS))
    return f"unknown field: {', '.join(unknown)}" if unknown else None


def outgoing_text(channel: str, notice: bool, facts: ClientFacts) -> ClientText:
    """What one send on ``channel`` puts in front of the client: a secure notice, or the content as it is."""
    with speaking(facts.language) as language:
        return replace(_outgoing_text(channel, notice, facts), language=language)


def _outgoing_text(channel: str, notice: bool, facts: ClientFacts) -> ClientText:
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
