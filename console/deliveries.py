"""Deliveries: failed ones with "Retry now" (admin), and scheduled messages that can be cancelled."""
from __future__ import annotations

from flask import flash, redirect, request
from flask_admin import Admin, expose

from messaging.delivery.outcomes import retry_now
from messaging.message_reading import decision_reason, failed_deliveries, scheduled_messages
from messaging.messages import cancel_scheduled
from messaging.models import Delivery, Message

from .base import DELIVERIES_CATEGORY, SecureView, current_actor
from .core_calls import run_core
from .formatting import format_time
from .lookup import get_or_404
from .widgets import confirm_page


def _page_number() -> int:
    return max(1, request.args.get("page", 1, type=int))


class FailedDeliveriesView(SecureView):
    admin_only = True

    @expose("/")
    def index(self):
        page = failed_deliveries(_page_number())
        return self.render("console/deliveries_failed.html", page=page,
                           pager_url=lambda p: self.get_url(".index", page=p + 1))

    @expose("/retry/", methods=("POST",))
    def retry(self):
        delivery = get_or_404(Delivery, request.args.get("id"))
        with run_core() as call:
            retry_now(delivery, current_actor())
        if not call.failed:
            flash(f"Delivery #{delivery.id} to {delivery.message.contact.full_name} is queued again.", "success")
        return redirect(self.get_url(".index"))


class ScheduledView(SecureView):
    @expose("/")
    def index(self):
        page = scheduled_messages(_page_number())
        return self.render("console/deliveries_scheduled.html", page=page,
                           reason=decision_reason, pager_url=lambda p: self.get_url(".index", page=p + 1))

    @expose("/cancel/", methods=("GET", "POST"))
    def cancel(self):
        message = get_or_404(Message, request.args.get("id"))
        back = self.get_url(".index")
        if request.method == "GET":
            return confirm_page(
                self, "Cancel scheduled message",
                f"Cancel the {message.channel} message to {message.contact.full_name} due "
                f"{format_time(message.send_at)}? It will not be sent, and its link will never work.",
                self.get_url(".cancel", id=message.id), "Cancel the message", back)
        with run_core() as call:
            cancel_scheduled(message, current_actor())
        if not call.failed:
            flash(f"The message to {message.contact.full_name} is cancelled.", "success")
        return redirect(back)


def register(admin: Admin) -> None:
    admin.add_view(ScheduledView(name="Scheduled", endpoint="scheduled", url="scheduled",
                                 category=DELIVERIES_CATEGORY))
    admin.add_view(FailedDeliveriesView(name="Failed deliveries", endpoint="failed_deliveries",
                                        url="failed-deliveries", category=DELIVERIES_CATEGORY))
