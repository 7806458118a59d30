"""Webhooks (admins only): endpoints, registering one (its secret shown once), deleting one, and each
endpoint's delivery log with "Send again"."""
from __future__ import annotations

from flask import abort, flash, make_response, redirect, request
from flask_admin import Admin, expose

from messaging.errors import NotFound
from messaging.models.webhooks import WEBHOOK_EVENT_TYPES
from messaging.webhooks.dispatch import send_again
from messaging.webhooks.endpoints import (
    attempts_of,
    delete_endpoint,
    delivery_log,
    get_delivery,
    get_endpoint,
    live_endpoints,
    register_endpoint,
)

from .base import ADMIN_CATEGORY, SecureView, current_actor
from .core_calls import run_core
from .lookup import parse_id


def _endpoint_or_404(raw):
    endpoint_id = parse_id(raw)
    if endpoint_id is None:
        abort(404)
    try:
        return get_endpoint(endpoint_id)
    except NotFound:
        abort(404)


class WebhooksView(SecureView):
    admin_only = True

    @expose("/")
    def index(self):
        return self.render("console/webhook_index.html", endpoints=live_endpoints())

    @expose("/new/", methods=("GET", "POST"))
    def create(self):
        url, chosen, errors = "", [], {}
        if request.method == "POST":
            url, chosen = request.form.get("url", ""), request.form.getlist("events")
            with run_core(flash_error=False) as call:
                registered = register_endpoint(current_actor(), url, chosen)
            if not call.failed:
                # The secret is shown on this response only: never flashed, never behind a redirect.
                response = make_response(self.render("console/webhook_created.html", endpoint=registered.endpoint,
                                                     secret=registered.secret, return_url=self.get_url(".index")))
                response.headers["Cache-Control"] = "no-store"
                return response
            errors = call.fields or {"url": call.error.message}
        page = self.render("console/webhook_form.html", url=url, chosen=chosen, errors=errors,
                           event_types=WEBHOOK_EVENT_TYPES, return_url=self.get_url(".index"))
        return page, 422 if errors else 200

    @expose("/delete/", methods=("GET", "POST"))
    def delete(self):
        endpoint = _endpoint_or_404(request.args.get("id"))
        back = self.get_url(".index")
        if request.method == "GET":
            return self.render("console/confirm.html", title="Delete webhook endpoint",
                               question=f"Delete the endpoint {endpoint.url}? Nothing more is posted to it and "
                                        "its pending deliveries are cancelled; its delivery log stays.",
                               action_url=self.get_url(".delete", id=endpoint.id), button="Delete",
                               cancel_url=back, danger=True)
        with run_core() as call:
            cancelled = delete_endpoint(current_actor(), endpoint)
        if not call.failed:
            flash(f"The endpoint {endpoint.url} is deleted ({cancelled} pending deliveries cancelled).", "success")
        return redirect(back)

    @expose("/log/")
    def log(self):
        endpoint = _endpoint_or_404(request.args.get("id"))
        page = delivery_log(endpoint, request.args.get("page", 1, type=int))
        return self.render("console/webhook_log.html", endpoint=endpoint, page=page,
                           attempts=attempts_of([d.id for d in page.items]),
                           pager_url=lambda p: self.get_url(".log", id=endpoint.id, page=p + 1))

    @expose("/send-again/", methods=("POST",))
    def send_again(self):
        endpoint = _endpoint_or_404(request.args.get("id"))
        delivery_id = parse_id(request.form.get("delivery"))
        with run_core() as call:
            if delivery_id is None:
                raise NotFound("No such delivery.")
            delivery = send_again(current_actor(), get_delivery(endpoint, delivery_id))
        if not call.failed:
            flash(f"Event {delivery.event.public_id} is queued to be posted again.", "success")
        return redirect(self.get_url(".log", id=endpoint.id, page=request.args.get("page", 1, type=int)))


def register(admin: Admin) -> None:
    admin.add_view(WebhooksView(name="Webhooks", endpoint="webhooks", url="webhooks", category=ADMIN_CATEGORY))
