"""Deliveries: failed ones with "Retry now" (admin), and scheduled messages that can be cancelled."""
from __future__ import annotations

from flask import abort, flash, redirect, request
from flask_admin import expose

from messaging.db import db
from messaging.delivery.engine import retry_now
from messaging.errors import Conflict
from messaging.message_reading import decision_reason, failed_deliveries, scheduled_messages
from messaging.messages import cancel_scheduled
from messaging.models import Delivery, Message

from .base import SecureView, current_actor, parse_id
from .records import confirm_page, format_time

CATEGORY = "Deliveries"


def _page_number() -> int:
    return max(1, request.args.get("page", 1, type=int))


class FailedDeliveriesView(SecureView):
    admin_only = True

    @expose("/")
    def index(self):
        page = failed_deliveries(_page_number())
        return self.render("console/deliveries_failed.html", page=page, format_time=format_time,
                           pager_url=lambda p: self.get_url(".index", page=p + 1))

    @expose("/retry/", methods=("POST",))
    def retry(self):
        delivery = db.session.get(Delivery, parse_id(request.args.get("id")) or 0)
        if delivery is None:
            abort(404)
        try:
            retry_now(delivery, current_actor())
        except Conflict as exc:
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(f"Delivery #{delivery.id} to {delivery.message.contact.full_name} is queued again.", "success")
        return redirect(self.get_url(".index"))


class ScheduledView(SecureView):
    @expose("/")
    def index(self):
        page = scheduled_messages(_page_number())
        return self.render("console/deliveries_scheduled.html", page=page, format_time=format_time,
                           reason=decision_reason, pager_url=lambda p: self.get_url(".index", page=p + 1))

    @expose("/cancel/", methods=("GET", "POST"))
    def cancel(self):
        message = db.session.get(Message, parse_id(request.args.get("id")) or 0)
        if message is None:
            abort(404)
        back = self.get_url(".index")
        if request.method == "GET":
            return confirm_page(
                self, "Cancel scheduled message",
                f"Cancel the {message.channel} message to {message.contact.full_name} due "
                f"{format_time(message.send_at)}? It will not be sent, and its link will never work.",
                self.get_url(".cancel", id=message.id), "Cancel the message", back)
        try:
            cancel_scheduled(message, current_actor())
        except Conflict as exc:
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(f"The message to {message.contact.full_name} is cancelled.", "success")
        return redirect(back)


def register(admin) -> None:
    admin.add_view(ScheduledView(name="Scheduled", endpoint="scheduled", url="scheduled", category=CATEGORY))
    admin.add_view(FailedDeliveriesView(name="Failed deliveries", endpoint="failed_deliveries",
                                        url="failed-deliveries", category=CATEGORY))
