"""Read logs and engagement on the console's record pages: the read log on a contact's page (and its
CSV download, audited), the timeline on a message's page, the funnel on template, broadcast and
campaign pages. The pages include partials that call the template globals registered here; the
queries are messaging.insight's. Staff see the messages they created; admins all.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import abort, request
from flask_admin import Admin, expose
from flask_login import current_user

from messaging.db import db
from messaging.insight.funnel import Funnel, broadcast_funnel, describe_seconds, step_funnel, template_funnel
from messaging.insight.read_log import CSV_HEADER, csv_values, export_read_log, message_timeline, read_log_page
from messaging.models import Contact

from .base import SecureView, current_actor
from .contacts import csv_download
from .dashboard import owner_id
from .lookup import get_or_404

READ_LOG_PAGE_ARG = "read_log_page"


class ReadLogView(SecureView):
    """The read log's CSV download (the table itself is part of the contact's page)."""

    def is_visible(self) -> bool:
        return False  # reached from the contact's page, not the menu

    @expose("/")
    def index(self):
        abort(404, "A read log is on its contact's page.")

    @expose("/<int:contact_id>.csv")
    def csv(self, contact_id: int):
        contact = get_or_404(Contact, contact_id)
        rows = export_read_log(current_actor(), contact.id, owner_id())
        db.session.commit()
        return csv_download(f"contact-{contact.id}-read-log.csv", CSV_HEADER, [csv_values(row) for row in rows])


def contact_read_log(contact: Contact):
    """One page of the contact's read log (``?read_log_page=``), for console/_contact_read_log.html."""
    return read_log_page(contact.id, request.args.get(READ_LOG_PAGE_ARG, type=int), owner_id())


def read_log_page_url(page: int) -> str:
    """The contact page's URL showing another page of the read log (0-based ``page``, as lib.pager gives it)."""
    args = request.args.to_dict()
    args[READ_LOG_PAGE_ARG] = str(page + 1)
    return f"{request.path}?{urlencode(sorted(args.items()))}#read-log"


def funnel_context(funnel: Funnel) -> dict:
    """What console/insight_funnel.html shows of one funnel."""
    return {"funnel": funnel, "median": describe_seconds(funnel.median_seconds_to_view),
            "own_only": not current_user.is_admin}


def register(admin: Admin) -> None:
    admin.add_view(ReadLogView(name="Read log", endpoint="read_logs", url="read-logs"))
    if admin.app is not None:
        admin.app.jinja_env.globals.update(
            contact_read_log=contact_read_log, read_log_page_url=read_log_page_url,
            message_timeline=message_timeline,
            template_funnel=lambda template: funnel_context(template_funnel(template.id, owner_id())),
            broadcast_funnel=lambda broadcast: funnel_context(broadcast_funnel(broadcast.id, owner_id())),
            step_funnel=lambda step: funnel_context(step_funnel(step.id, owner_id())))
