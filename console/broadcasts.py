"""Broadcasts: one template to one or more segments — create a draft, read its audience and decision, send, follow.

The view is thin: the form becomes the core's ``create_broadcast`` call, and the broadcast's page
shows ``broadcast_view`` (the audience counts, live until it is sent; the decision with its reason
and warnings; the progress), ``client_preview`` (what the first recipient receives, rendered by the
composer's renderer) and the suppressed and failed recipients. Sending asks first, repeating the
count. The progress bar follows ``progress.json`` (static/broadcasts.js) without reloading the page.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import abort, flash, jsonify, redirect, request
from flask_admin import Admin, expose

from messaging.db import db
from messaging.delivery.outcomes import retry_now
from messaging.errors import Conflict, PolicyRefused, ValidationFailed
from messaging.models import CHANNELS, LEVEL_MODES, Broadcast, Delivery, Segment, Situation, Template
from messaging.outreach import broadcast_states
from messaging.outreach import broadcasts as broadcast_core

from .base import SecureView, current_actor
from .compose import CHANNEL_LABELS, PIN_METHOD_LABELS, RECOMMENDATION_LABELS
from .core_calls import run_core
from .formatting import format_time, parse_send_at
from .lookup import get_or_404, parse_id
from .widgets import confirm_page

MAX_SEGMENTS = 20  # as many as the API accepts
PIN_CHOICES = (("inherit", "As the template and the defaults decide"), ("true", "Always ask for a PIN"),
               ("false", "Never ask for a PIN"))
MODE_LABELS = {"inherit": "As the template and the defaults decide", "secure": "Secure for everyone",
               "standard": "Standard for everyone"}
AUDIENCE_ROWS = (("matched", "Matched", "contact–segment pairs: a contact in two segments counts twice"),
                 ("duplicates", "Duplicates", "already counted through an earlier segment"),
                 ("opted_out", "Opted out", "withdrew consent on the channel (STOP…)"),
                 ("no_consent", "No consent", "the consent this situation needs is not granted"),
                 ("unreachable", "Unreachable", "no phone number or e-mail address for the channel"),
                 ("frequency_capped", "Over the frequency cap", "had enough broadcast and campaign messages lately"),
                 ("to_send", "Will receive it", "the recipients who get a message"))
PROGRESS_ROWS = (("queued", "Queued"), ("sent", "Sent"), ("delivered", "Delivered"), ("failed", "Failed"),
                 ("suppressed", "Suppressed"), ("opened", "Opened the link"), ("verified", "Verified"),
                 ("viewed", "Read"), ("replied", "Replied"))
STATUS_LABELS = {"draft": "Draft — nothing is sent yet", "scheduled": "Scheduled", "sending": "Sending",
                 "paused": "Paused", "sent": "Sent", "cancelled": "Cancelled"}
# Which buttons a status offers; static/broadcasts.js shows and hides them as the status moves.
ACTIONS = {"send": ("draft",), "pause": ("scheduled", "sending"), "resume": ("paused",),
           "cancel": ("draft", "scheduled", "sending", "paused")}
FINISHED = ("sent", "cancelled")


@dataclass
class BroadcastInput:
    """What the user typed, kept as text so a form with errors comes back exactly as it was."""

    name: str = ""
    segment_ids: list[str] = field(default_factory=list)
    template: str = ""
    situation: str = ""
    mode: str = "inherit"
    require_pin: str = "inherit"
    when: str = "now"
    send_at: str = ""
    override_reason: str = ""

    @classmethod
    def from_form(cls, form) -> BroadcastInput:
        chosen: list[str] = []
        for raw in form.getlist("segment_ids")[:MAX_SEGMENTS]:
            if parse_id(raw) is not None and raw.strip() not in chosen:
                chosen.append(raw.strip())
        return cls(name=form.get("name", "").strip(), segment_ids=chosen, template=form.get("template", "").strip(),
                   situation=form.get("situation", "").strip(), mode=form.get("mode", "inherit"),
                   require_pin=form.get("require_pin", "inherit"), when=form.get("when", "now"),
                   send_at=form.get("send_at", "").strip(), override_reason=form.get("override_reason", ""))

    def core_arguments(self, errors: dict[str, str]) -> dict:
        """The keyword arguments of ``create_broadcast``; problems the form can see are put in ``errors``."""
        if not self.segment_ids:
            errors["segment_ids"] = "Choose at least one segment."
        if self.mode not in LEVEL_MODES:
            errors["mode"] = "Choose how it is sent."
        pin = {"inherit": None, "true": True, "false": False}
        if self.require_pin not in pin:
            errors["require_pin"] = "Choose whether a PIN is asked for."
        send_at = parse_send_at(self.send_at, errors, now_hint="choose “Now”") if self.when == "later" else None
        if self.when == "later" and not self.send_at:
            errors["send_at"] = "Enter the date and time to send it, or choose “Now”."
        return {"name": self.name, "segment_ids": [int(i) for i in self.segment_ids],
                "template_slug": self.template, "situation_key": self.situation or None,
                "mode": self.mode if self.mode in LEVEL_MODES else "inherit",
                "require_pin": pin.get(self.require_pin), "send_at": send_at,
                "override_reason": self.override_reason.strip() or None}


def progress_state(broadcast: Broadcast, view: dict | None = None) -> dict:
    """What the progress bar shows: the status, the counts, how many of ``to_send`` are finished."""
    view = view or broadcast_core.broadcast_view(broadcast)
    progress, to_send = view["progress"], view["audience"]["to_send"]
    finished = sum(progress[key] for key in ("sent", "delivered", "failed", "suppressed"))
    if to_send:
        percent = min(100, finished * 100 // to_send)
    else:
        percent = 100 if view["status"] in FINISHED else 0
    return {"status": view["status"], "status_label": status_label(view), "progress": progress,
            "to_send": to_send, "finished": finished, "percent": percent,
            "done": view["status"] in FINISHED and progress["queued"] == 0}


def status_label(view: dict) -> str:
    if view["status"] == "scheduled" and view.get("send_at"):
        return f"Scheduled for {format_time(view['send_at'])}"
    return STATUS_LABELS.get(view["status"], view["status"])


def _page(name: str) -> int:
    return max(1, request.args.get(name, 1, type=int))


def form_context(form: BroadcastInput, errors: dict, refusal: str | None = None, can_override: bool = False) -> dict:
    templates = db.session.execute(db.select(Template).where(Template.channel.in_(CHANNELS))
                                   .order_by(Template.name)).scalars().all()
    return {"form": form, "errors": errors, "refusal": refusal, "can_override": can_override,
            "segments": db.session.execute(db.select(Segment).order_by(Segment.name)).scalars().all(),
            "templates": templates, "channel_labels": CHANNEL_LABELS, "mode_labels": MODE_LABELS,
            "situations": db.session.execute(db.select(Situation).order_by(Situation.position, Situation.id))
            .scalars().all(),
            "recommendation_labels": RECOMMENDATION_LABELS, "pin_choices": PIN_CHOICES,
            "rows": [*form.segment_ids, ""][:MAX_SEGMENTS]}


class BroadcastsView(SecureView):
    def _broadcast(self, broadcast_id: int) -> Broadcast:
        return get_or_404(Broadcast, broadcast_id)

    @expose("/")
    def index(self):
        page = broadcast_core.list_broadcasts(_page("page"))
        return self.render("console/broadcast_index.html", page=page, status_labels=STATUS_LABELS,
                           pager_url=lambda p: self.get_url(".index", page=p + 1))

    @expose("/new", methods=("GET", "POST"))
    def create(self):
        is_admin = current_actor().is_admin
        if request.method == "GET":
            return self.render("console/broadcast_form.html", **form_context(BroadcastInput(), {}))
        form = BroadcastInput.from_form(request.form)
        if request.form.get("action") == "add_segment":  # without JavaScript: one more segment row
            return self.render("console/broadcast_form.html", **form_context(form, {}, can_override=is_admin
                                                                             and bool(form.override_reason)))
        errors: dict[str, str] = {}
        arguments = form.core_arguments(errors)
        refusal, status, blocked = None, 422, False
        if not errors:
            with run_core(flash_error=False) as call:
                broadcast_id = broadcast_core.create_broadcast(current_actor(), **arguments).id
            if not call.failed:
                flash(f"Broadcast '{form.name}' saved as a draft: check its audience and what the client "
                      "receives, then send it.", "success")
                return redirect(self.get_url(".details", broadcast_id=broadcast_id))
            errors.update(call.fields)
            if isinstance(call.error, Conflict):  # blocked by policy, or secure while the portal is off
                refusal, status, blocked = call.error.message, 409, isinstance(call.error, PolicyRefused)
            elif not call.fields:
                errors[""] = call.error.message
        # Only an admin may override a block, as in the composer: the field appears once a block is met.
        can_override = is_admin and (blocked or bool(form.override_reason))
        return self.render("console/broadcast_form.html",
                           **form_context(form, errors, refusal, can_override)), status

    @expose("/<int:broadcast_id>/")
    def details(self, broadcast_id: int):
        broadcast = self._broadcast(broadcast_id)
        view = broadcast_core.broadcast_view(broadcast)
        first = broadcast_core.first_contact(broadcast)
        try:
            preview, preview_problem = broadcast_core.client_preview(broadcast), None
        except ValidationFailed as exc:  # e.g. a template that no longer renders
            preview, preview_problem = None, exc.message
        segments = {s.id: s for s in db.session.execute(
            db.select(Segment).where(Segment.id.in_(broadcast.segment_ids or []))).scalars()}
        answer = self.render(
            "console/broadcast_page.html", broadcast=broadcast, view=view, state=progress_state(broadcast, view),
            preview=preview, preview_problem=preview_problem, first_name=first.first_name if first else None,
            segments=segments, audience_rows=AUDIENCE_ROWS,
            progress_rows=PROGRESS_ROWS, actions=ACTIONS, channel_labels=CHANNEL_LABELS, mode_labels=MODE_LABELS,
            recommendation_labels=RECOMMENDATION_LABELS, pin_method_labels=PIN_METHOD_LABELS,
            suppressed=broadcast_states.suppressed_recipients(broadcast, _page("suppressed_page")),
            failed=broadcast_states.failed_deliveries(broadcast, _page("failed_page")),
            suppressed_url=lambda p: self.get_url(".details", broadcast_id=broadcast_id, suppressed_page=p + 1),
            failed_url=lambda p: self.get_url(".details", broadcast_id=broadcast_id, failed_page=p + 1))
        db.session.rollback()  # reading writes nothing
        return answer

    @expose("/<int:broadcast_id>/progress.json")
    def progress(self, broadcast_id: int):
        """The progress bar's state as JSON for static/broadcasts.js. Writes nothing."""
        state = progress_state(self._broadcast(broadcast_id))
        db.session.rollback()
        response = jsonify(state)
        response.headers["Cache-Control"] = "no-store"
        return response

    @expose("/<int:broadcast_id>/send", methods=("GET", "POST"))
    def send(self, broadcast_id: int):
        broadcast = self._broadcast(broadcast_id)
        back = self.get_url(".details", broadcast_id=broadcast_id)
        if request.method == "GET":
            if broadcast.status != "draft":
                flash(f"'{broadcast.name}' has already been sent: it is {broadcast.status}.", "info")
                return redirect(back)
            view = broadcast_core.broadcast_view(broadcast)
            count = view["audience"]["to_send"]
            people = f"{count:,} contact{'' if count == 1 else 's'}"
            when = f"at {format_time(broadcast.send_at)}" if broadcast.send_at else "now"
            left_out = view["audience"]["matched"] - count
            channel = CHANNEL_LABELS.get(broadcast.template.channel, broadcast.template.channel)
            question = (f"Send '{broadcast.name}' {when} to {people} by {channel} ({view['decision']['reason']})?"
                        + (f" {left_out:,} of the {view['audience']['matched']:,} matched contact-segment pairs "
                           "will not receive it (duplicates, no consent, unreachable…)." if left_out else "")
                        + " The audience is frozen when you send.")
            db.session.rollback()
            return confirm_page(self, f"Send '{broadcast.name}'?", question, self.get_url(".send",
                                broadcast_id=broadcast_id), f"Send to {people}", back, danger=False)
        with run_core() as call:
            broadcast_states.send_broadcast(current_actor(), broadcast)
        if not call.failed:
            flash(f"'{broadcast.name}' is {status_label(broadcast_core.broadcast_view(broadcast)).lower()}.",
                  "success")
            db.session.rollback()
        return redirect(back)

    def _move(self, broadcast_id: int, move, done: str):
        broadcast = self._broadcast(broadcast_id)
        with run_core() as call:
            move(current_actor(), broadcast)
        if not call.failed:
            flash(done.format(name=broadcast.name), "success")
        return redirect(self.get_url(".details", broadcast_id=broadcast_id))

    @expose("/<int:broadcast_id>/pause", methods=("POST",))
    def pause(self, broadcast_id: int):
        return self._move(broadcast_id, broadcast_states.pause_broadcast,
                          "'{name}' is paused: nothing more goes out until you resume it.")

    @expose("/<int:broadcast_id>/resume", methods=("POST",))
    def resume(self, broadcast_id: int):
        return self._move(broadcast_id, broadcast_states.resume_broadcast, "'{name}' goes on where it stopped.")

    @expose("/<int:broadcast_id>/cancel", methods=("GET", "POST"))
    def cancel(self, broadcast_id: int):
        broadcast = self._broadcast(broadcast_id)
        if request.method == "GET":
            return confirm_page(
                self, f"Cancel '{broadcast.name}'?",
                "Nothing more of this broadcast will be sent: messages not yet sent are cancelled and their links "
                "never work. What was already sent stays sent. This cannot be undone.",
                self.get_url(".cancel", broadcast_id=broadcast_id), "Cancel the broadcast",
                self.get_url(".details", broadcast_id=broadcast_id))
        return self._move(broadcast_id, broadcast_states.cancel_broadcast, "'{name}' is cancelled.")

    @expose("/<int:broadcast_id>/retry", methods=("POST",))
    def retry(self, broadcast_id: int):
        broadcast = self._broadcast(broadcast_id)
        delivery = get_or_404(Delivery, request.form.get("delivery"))
        if delivery.message.broadcast_id != broadcast.id:
            abort(404)
        name = delivery.message.contact.full_name
        with run_core() as call:
            retry_now(delivery, current_actor())
        if not call.failed:
            flash(f"The message to {name} is queued again.", "success")
        return redirect(self.get_url(".details", broadcast_id=broadcast_id))


def register(admin: Admin) -> None:
    admin.add_view(BroadcastsView(name="Broadcasts", endpoint="broadcasts", url="broadcasts"))
