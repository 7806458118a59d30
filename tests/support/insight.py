"""Messages with a chosen history, written as rows (the way the core leaves them), for the dashboard's and the
funnels' figures: a month of data is built in one transaction instead of a month of worker passes."""
from __future__ import annotations

from datetime import datetime, timedelta
from html.parser import HTMLParser

from messaging.db import db
from messaging.models import Message, MessageEvent

# Offsets after creation of each event kind a history may name.
STEP = {"sent": timedelta(minutes=1), "delivered": timedelta(minutes=2), "link_opened": timedelta(minutes=10),
        "verified": timedelta(minutes=11), "viewed": timedelta(minutes=12), "replied": timedelta(minutes=20),
        "failed": timedelta(minutes=1), "suppressed": timedelta(0)}


def add_message(contact, created_at: datetime, mode: str = "secure", channel: str = "sms", owner=None,
                history: tuple[str, ...] = ("sent",), status: str | None = None, view_after: timedelta | None = None,
                **fields) -> Message:
    """An outbound message created at ``created_at`` whose events are ``history`` (each at its usual delay after
    creation; ``viewed`` at ``view_after`` after ``sent`` when given). Flushed, not committed."""
    if status is None:
        status = next((s for s in ("failed", "suppressed", "delivered", "sent") if s in history), "queued")
    message = Message(contact_id=contact.id, direction="out", channel=channel, mode=mode, status=status,
                      created_at=created_at, created_by_id=getattr(owner, "id", owner),
                      expires_at=created_at + timedelta(days=3) if mode == "secure" else None, **fields)
    db.session.add(message)
    db.session.flush()
    for kind in history:
        at = created_at + STEP.get(kind, timedelta(minutes=5))
        if kind == "viewed" and view_after is not None:
            at = created_at + STEP["sent"] + view_after
        detail = {"code": "30003"} if kind == "failed" else {}
        db.session.add(MessageEvent(message_id=message.id, kind=kind, at=at, detail=detail))
        if kind == "viewed":
            message.viewed_at = at
    if "suppressed" in history and message.suppressed_reason is None:
        message.suppressed_reason = "The contact opted out of SMS"
    db.session.flush()
    return message


def add_reply(message: Message, at: datetime) -> Message:
    """The client's reply to ``message`` on the viewer, received at ``at``. Flushed, not committed."""
    reply = Message(contact_id=message.contact_id, direction="in", channel="web", mode="secure", status="received",
                    reply_to_id=message.id, created_at=at)
    db.session.add(reply)
    db.session.flush()
    return reply


def add_reply_event(message: Message, at: datetime) -> Message:
    """``add_reply`` plus the ``replied`` event on ``message``, as the viewer records both."""
    db.session.add(MessageEvent(message_id=message.id, kind="replied", at=at, detail={}))
    return add_reply(message, at)


class _Collector(HTMLParser):
    VOID = {"br", "img", "input", "link", "meta", "hr", "line", "rect", "path"}

    def __init__(self, attr: str, value: str | None):
        super().__init__()
        self.attr, self.value = attr, value
        self.found: list[str] = []
        self._open: list[list] = []  # [tag, depth, parts] of matched elements being read

    def handle_starttag(self, tag, attrs):
        for entry in self._open:
            entry[2].append(" ")  # cells read as words apart
            if entry[0] == tag:
                entry[1] += 1
        values = dict(attrs)
        if tag not in self.VOID and self.attr in values and (self.value is None or values[self.attr] == self.value):
            self._open.append([tag, 1, []])

    def handle_endtag(self, tag):
        for entry in list(self._open):
            entry[2].append(" ")
            if entry[0] == tag:
                entry[1] -= 1
                if entry[1] == 0:
                    self._open.remove(entry)
                    self.found.append(" ".join("".join(entry[2]).split()))

    def handle_data(self, data):
        for entry in self._open:
            entry[2].append(data)


def texts(html: str, attr: str, value: str | None = None) -> list[str]:
    """The text of every element carrying ``attr`` (with ``value``, when given), in page order of their ends."""
    collector = _Collector(attr, value)
    collector.feed(html)
    return collector.found


def text(html: str, attr: str, value: str | None = None) -> str:
    """The text of the one element carrying ``attr`` (=``value``); fails when there is none or several."""
    found = texts(html, attr, value)
    assert len(found) == 1, f"{attr}={value!r}: {found}"
    return found[0]
