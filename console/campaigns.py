"""Campaigns: a list, the step editor (each step's decision shown as it will apply), a campaign's page with
its per-step funnel and its enrolments, and activate / pause / resume / archive after a confirmation.

The view is thin: the editor (``campaign_editor``) becomes the core's ``create_campaign`` call,
the page shows ``campaign_view`` (counts, decisions, funnels) and ``enrolments_page``; the moves
are ``campaign_states``. The funnel is drawn with native ``<progress>`` bars (no style attribute:
the console's CSP refuses them).
"""
from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request
from flask_admin import Admin, expose

from messaging.db import db
from messaging.errors import Conflict, PolicyRefused
from messaging.models import CHANNELS, ENROLMENT_STATES, Campaign, Contact, Segment, Situation, Template
from messaging.outreach import campaign_states
from messaging.outreach import campaigns as campaign_core
from messaging.outreach.campaign_delays import describe_delay
from messaging.outreach.campaign_views import campaign_view, enrolment_counts, enrolments_page

from .base import SecureView, current_actor
from .campaign_editor import DELAY_KINDS, EXIT_LABELS, UNITS, CampaignForm
from .compose import CHANNEL_LABELS, RECOMMENDATION_LABELS
from .core_calls import run_core
from .lookup import get_or_404
from .widgets import confirm_page

MODE_LABELS = {"inherit": "As the campaign decides", "secure": "Secure", "standard": "Standard"}
CAMPAIGN_MODE_LABELS = {"inherit": "As each template and the defaults decide", "secure": "Secure for every step",
                        "standard": "Standard for every step"}
PIN_CHOICES = (("inherit", "Inherit"), ("true", "Always ask for a PIN"), ("false", "Never ask for a PIN"))
STATUS_LABELS = {"draft": "Draft — nobody enrolled yet", "active": "Active", "paused": "Paused",
                 "archived": "Archived"}
FUNNEL_ROWS = (("queued", "Queued"), ("sent", "Sent"), ("delivered", "Delivered"), ("opened", "Opened the link"),
               ("verified", "Verified"), ("viewed", "Read"), ("replied", "Replied"), ("failed", "Failed"),
               ("suppressed", "Suppressed"), ("skipped", "Skipped"))
EXIT_ROWS = (("reply", "Replied"), ("view", "Read a message"), ("opt_out", "Opted out"),
             ("leave_segment", "Left the segment"))
# The moves a status offers, and what the confirmation says.
MOVES = {
    "activate": ("draft",
                 "Every contact the segment matches now is enrolled, and the steps go out as they fall due. "
                 "Each contact is enrolled once."),
    "pause": ("active", "Nothing more is queued, and messages already queued are held back. Every contact keeps "
                        "their place; resume to go on."),
    "resume": ("paused", "Held messages are released, and each contact goes on from where they stood. Steps that "
                         "fell due meanwhile go out at the next pass."),
    "archive": ("draft active paused", "The campaign ends for good: no further step is sent, and messages not yet "
                                       "sent are cancelled (their links never work). This cannot be undone."),
}
ENROLMENTS_PER_PAGE = 50


def editor_context(form: CampaignForm, refusal: str | None = None, can_override: bool = False) -> dict:
    return {"form": form, "refusal": refusal, "can_override": can_override, "decisions": decisions_of(form),
            "segments": db.session.execute(db.select(Segment).order_by(Segment.name)).scalars().all(),
            "templates": db.session.execute(db.select(Template).where(Template.channel.in_(CHANNELS))
                                            .order_by(Template.name)).scalars().all(),
            "situations": db.session.execute(db.select(Situation).order_by(Situation.position, Situation.id))
            .scalars().all(),
            "channel_labels": CHANNEL_LABELS, "recommendation_labels": RECOMMENDATION_LABELS,
            "mode_labels": MODE_LABELS, "campaign_mode_labels": CAMPAIGN_MODE_LABELS, "pin_choices": PIN_CHOICES,
            "delay_kinds": DELAY_KINDS, "units": list(UNITS), "exit_labels": EXIT_LABELS}


def decisions_of(form: CampaignForm) -> dict[str, dict]:
    """Each row's decision as it will apply ({prefix: decision view}); rows not yet complete have none."""
    fields = form.core_fields()
    form.errors.clear()  # shown only after "Save": a half-typed step is not wrong yet
    complete = [(row, step) for row, step in zip(form.rows, fields["steps"], strict=True)
                if step["template"] and step["delay"] is not None]
    if not complete:
        return {}
    fields["steps"] = [step for _, step in complete]
    fields["name"] = fields["name"] or "…"
    previews, _ = campaign_core.preview_steps(fields)
    by_position = {step.position: decision for step, decision in previews}
    db.session.rollback()  # a preview writes nothing
    return {row.prefix: {**decision.as_dict(), "blocked": decision.blocked}
            for index, (row, _) in enumerate(complete) if (decision := by_position.get(index + 1)) is not None}


class CampaignsView(SecureView):
    def _campaign(self, campaign_id: int) -> Campaign:
        return get_or_404(Campaign, campaign_id)

    @expose("/")
    def index(self):
        page = campaign_core.list_campaigns(max(1, request.args.get("page", 1, type=int)))
        counts = {c.id: enrolment_counts(c) for c in page.items}
        segments = {s.id: s for s in db.session.execute(db.select(Segment)).scalars()}
        return self.render("console/campaign_index.html", page=page, counts=counts, segments=segments,
                           status_labels=STATUS_LABELS, pager_url=lambda p: self.get_url(".index", page=p + 1))

    @expose("/new", methods=("GET", "POST"))
    def create(self):
        if request.method == "GET":
            return self.render("console/campaign_form.html", **editor_context(CampaignForm()))
        form = CampaignForm.from_form(request.form)
        action = request.form.get("action", "create")
        is_admin = current_actor().is_admin
        if action != "create":
            form.apply(action)
            return self.render("console/campaign_form.html",
                               **editor_context(form, can_override=is_admin and bool(form.override_reason)))
        context = editor_context(form)
        fields = form.core_fields()
        refusal, blocked = None, False
        # The core checks everything (a delay the form could not read reaches it as missing), so every
        # problem is shown at once.
        with run_core(flash_error=False) as call:
            campaign_id = campaign_core.create_campaign(current_actor(), **fields).id
        if not call.failed:
            flash(f"Campaign '{form.name}' saved as a draft: check each step's decision, then activate it.",
                  "success")
            return redirect(self.get_url(".details", campaign_id=campaign_id))
        form.place_errors(call.fields)
        if isinstance(call.error, Conflict):  # blocked by policy, or secure while the portal is off
            refusal, blocked = call.error.message, isinstance(call.error, PolicyRefused)
        elif not call.fields:
            refusal = call.error.message
        context.update(refusal=refusal, can_override=is_admin and (blocked or bool(form.override_reason)))
        return self.render("console/campaign_form.html", **context), 409 if refusal else 422

    @expose("/preview", methods=("POST",))
    def preview(self):
        """Each step's decision as JSON for static/campaigns.js (``html`` per row prefix). Writes nothing."""
        form = CampaignForm.from_form(request.form)
        decisions = decisions_of(form)
        html = {row.prefix: render_template("console/campaign_decision.html", decision=decisions.get(row.prefix))
                for row in form.rows}
        db.session.rollback()
        return jsonify({"decisions": html})

    @expose("/<int:campaign_id>/")
    def details(self, campaign_id: int):
        campaign = self._campaign(campaign_id)
        view = campaign_view(campaign)
        state = request.args.get("state") or None
        state = state if state in ENROLMENT_STATES else None
        enrolments = enrolments_page(campaign, state=state, page=max(1, request.args.get("page", 1, type=int)),
                                     per_page=ENROLMENTS_PER_PAGE)
        contacts = {c.id: c for c in db.session.execute(
            db.select(Contact).where(Contact.id.in_([e.contact_id for e in enrolments.items]))).scalars()}
        answer = self.render(
            "console/campaign_page.html", campaign=campaign, view=view, segment=db.session.get(Segment,
                                                                                                  campaign.segment_id),
            steps=list(zip(campaign.steps, view["steps"], strict=True)), describe_delay=describe_delay,
            funnel_rows=FUNNEL_ROWS, exit_rows=EXIT_ROWS, moves=MOVES, status_labels=STATUS_LABELS,
            channel_labels=CHANNEL_LABELS, enrolments=enrolments, contacts=contacts, state=state,
            states=ENROLMENT_STATES, exit_labels=dict(EXIT_ROWS),
            pager_url=lambda p: self.get_url(".details", campaign_id=campaign_id, state=state, page=p + 1))
        db.session.rollback()  # reading writes nothing
        return answer

    def _move(self, campaign_id: int, action: str):
        campaign = self._campaign(campaign_id)
        back = self.get_url(".details", campaign_id=campaign_id)
        if request.method == "GET":
            question = MOVES[action][1]
            if action == "activate":
                count = campaign_states.count_matching_now(campaign)
                question = f"{count:,} contact{'' if count == 1 else 's'} match the segment now. " + question
            db.session.rollback()
            return confirm_page(self, f"{action.capitalize()} '{campaign.name}'?", question,
                                self.get_url(f".{action}", campaign_id=campaign_id),
                                f"{action.capitalize()} the campaign", back, danger=action == "archive")
        name = campaign.name
        with run_core() as call:
            campaign_states.ACTIONS[action](current_actor(), campaign)
        if not call.failed:
            flash(f"'{name}' is {campaign.status}.", "success")
        return redirect(back)

    @expose("/<int:campaign_id>/activate", methods=("GET", "POST"))
    def activate(self, campaign_id: int):
        return self._move(campaign_id, "activate")

    @expose("/<int:campaign_id>/pause", methods=("GET", "POST"))
    def pause(self, campaign_id: int):
        return self._move(campaign_id, "pause")

    @expose("/<int:campaign_id>/resume", methods=("GET", "POST"))
    def resume(self, campaign_id: int):
        return self._move(campaign_id, "resume")

    @expose("/<int:campaign_id>/archive", methods=("GET", "POST"))
    def archive(self, campaign_id: int):
        return self._move(campaign_id, "archive")


def register(admin: Admin) -> None:
    admin.add_view(CampaignsView(name="Campaigns", endpoint="campaigns", url="campaigns"))
