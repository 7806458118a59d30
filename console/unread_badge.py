"""The count of conversations waiting for staff, next to "Conversations" in the menu.

Flask-Admin prints a menu entry's name as it is; a name that renders itself (``__html__``) lets
the entry carry a live count without copying Flask-Admin's menu template. The page title keeps
the view's own plain name: only the menu entry is replaced.
"""
from __future__ import annotations

from flask_admin import Admin, BaseView
from markupsafe import Markup

from messaging.client.staff_attention import unread_conversation_count


class UnreadLabel:
    """A menu label followed by the unread count (nothing when no conversation waits)."""

    def __init__(self, label: str):
        self.label = label

    def __str__(self) -> str:
        return self.label

    def __html__(self) -> str:
        count = unread_conversation_count()
        if not count:
            return str(Markup.escape(self.label))
        words = f"{count} conversation{'s' if count != 1 else ''} waiting for a reply"
        return str(Markup('{} <span class="badge badge-pill badge-warning" data-unread-count="{}" title="{}">{}'
                          '<span class="sr-only"> unread</span></span>').format(self.label, count, words, count))


def add_unread_badge(admin: Admin, view: BaseView) -> None:
    """Give ``view``'s menu entry the unread count."""
    for item in admin.menu():
        if getattr(item, "_view", None) is view:
            item.name = UnreadLabel(view.name)
