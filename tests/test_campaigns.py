"""Campaign sequences in the core, with the clock moved: every delay kind, every exit rule, pause and resume,
daily re-enrolment, the decision of each step, and the rules that protect the client (consent, the cap)."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from messaging.audience.segments import create_segment
from messaging.audit import SYSTEM, Actor
from messaging.client.access import mark_viewed
from messaging.client.inbound import receive_sms
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.errors import Conflict, PolicyRefused, ValidationFailed
from messaging.models import Campaign, CampaignEnrolment, CampaignStepRun, Contact, Delivery, Message
from messaging.outreach.campaign_delays import check_delay, field_moment, work_out
from messaging.outreach.campaign_runner import (
    CampaignPassResult,
    claim_batch,
    plan_for,
    run_campaigns_once,
    work_claimed,
)
from messaging.outreach.campaign_states import ACTIONS
from messaging.outreach.campaign_views import campaign_view, enrolments_page
from messaging.outreach.campaigns import create_campaign
from messaging.settings import get_settings
from seeds.factories import make_contact, make_template
from tests.support.messages import link_path
from tests.support.records import audit_entries

T0 = datetime(2030, 3, 4, 9, 0)
STAFF = Actor(label="staff@example.com", role="staff")


def tagged_segment(tag: str = "recall", name: str | None = None):
    segment = create_segment(SYSTEM, name or f"Tagged {tag}", {"match": "all", "conditions": [{"tag": tag}]})
    db.session.commit()
    return segment


def new_campaign(segment, steps, actor=SYSTEM, **fields) -> Campaign:
    campaign = create_campaign(actor, name=fields.pop("name", "Recall"), segment_id=segment.id, steps=steps, **fields)
    db.session.commit()
    return campaign


def move(campaign: Campaign, action: str) -> Campaign:
    ACTIONS[action](SYSTEM, campaign)
    db.session.commit()
    return campaign


def run_at(clock, moment: datetime):
    clock.at(moment)
    result = run_campaigns_once()
    db.session.expire_all()
    return result


def step_messages(campaign: Campaign, position: int) -> list[Message]:
    step = campaign.steps[position - 1]
    return list(db.session.execute(db.select(Message).filter_by(campaign_step_id=step.id)
                                   .order_by(Message.contact_id)).scalars())


def enrolment(campaign: Campaign, contact: Contact) -> CampaignEnrolment:
    return db.session.execute(db.select(CampaignEnrolment).filter_by(campaign_id=campaign.id,
                                                                     contact_id=contact.id)).scalar_one()


def runs(campaign: Campaign, position: int, outcome: str) -> list[CampaignStepRun]:
    step = campaign.steps[position - 1]
    return list(db.session.execute(db.select(CampaignStepRun).filter_by(step_id=step.id, outcome=outcome)).scalars())


def sms_template(**fields):
    return make_template(body=fields.pop("body", "Hello {{ first_name }}, time for your check-up."), **fields)


@pytest.fixture
def clocked(ctx, clock):
    clock.at(T0)
    return clock


# --- delays, pure ---

def test_a_delay_is_checked_and_each_problem_named():
    assert check_delay({"after": "enrolment", "minutes": 0}) == ({"after": "enrolment", "minutes": 0}, {})
    assert check_delay({"field": " appointment_at ", "minutes": -2880})[0] == {"field": "appointment_at",
                                                                               "minutes": -2880}
    assert "steps.1.delay.minutes" in check_delay({"after": "previous", "minutes": -5}, "steps.1.delay")[1]
    assert "delay.after" in check_delay({"after": "lunch", "minutes": 5})[1]
    assert "delay.minutes" in check_delay({"after": "previous"})[1]
    assert "delay.minutes" in check_delay({"after": "previous", "minutes": True})[1]
    assert "delay" in check_delay({"after": "previous", "field": "x", "minutes": 1})[1]
    assert "delay.hours" in check_delay({"after": "previous", "minutes": 1, "hours": 2})[1]
    assert "delay" in check_delay("tomorrow")[1]


def test_a_date_without_a_zone_is_read_in_the_contacts_zone():
    madrid = ZoneInfo("Europe/Madrid")
    assert field_moment("2030-03-14", madrid) == datetime(2030, 3, 13, 23, 0)
    assert field_moment("2030-03-14T09:30", madrid) == datetime(2030, 3, 14, 8, 30)
    assert field_moment("2030-03-14T09:30:00Z", madrid) == datetime(2030, 3, 14, 9, 30)
    for not_a_date in ("soon", "14/03/2030", "2030-02-30", 20300314, True, ""):
        assert field_moment(not_a_date, madrid) is None
    due = work_out({"field": "appointment_at", "minutes": -60}, enrolled_at=T0, previous_at=None,
                   form_data={"appointment_at": "2030-03-04T09:30"}, zone=ZoneInfo("UTC"), now=T0)
    assert due.skip == "passed" and "1 hour before appointment_at" in due.reason


# --- the run, with the clock moved ---

def test_every_delay_kind_with_the_clock_moved(clocked):
    reminder, follow_up, before = sms_template(name="Reminder"), sms_template(), sms_template()
    segment = tagged_segment()
    far = make_contact(first_name="Far", tags=["recall"], form_data={"appointment_at": "2030-03-14T09:00:00Z"})
    soon = make_contact(first_name="Soon", tags=["recall"], form_data={"appointment_at": "2030-03-06T09:00:00Z"})
    missing = make_contact(first_name="Missing", tags=["recall"])
    garbled = make_contact(first_name="Garbled", tags=["recall"], form_data={"appointment_at": "next week"})
    make_contact(first_name="Outsider")
    campaign = new_campaign(segment, [
        {"template": reminder.slug, "delay": {"after": "enrolment", "minutes": 60}},
        {"template": follow_up.slug, "delay": {"after": "previous", "minutes": 1440}},
        {"template": before.slug, "delay": {"field": "appointment_at", "minutes": -2880}},
    ])
    move(campaign, "activate")
    assert campaign_view(campaign)["enrolled"] == 4

    run_at(clocked, T0)
    assert step_messages(campaign, 1) == []
    assert enrolment(campaign, far).next_due_at == T0 + timedelta(minutes=60)
    run_at(clocked, T0 + timedelta(minutes=59))
    assert step_messages(campaign, 1) == []

    first_at = T0 + timedelta(minutes=61)
    run_at(clocked, first_at)
    assert [m.contact_id for m in step_messages(campaign, 1)] == [far.id, soon.id, missing.id, garbled.id]
    assert enrolment(campaign, far).step == 2
    assert enrolment(campaign, far).next_due_at == first_at + timedelta(days=1)
    run_at(clocked, first_at + timedelta(hours=23))
    assert step_messages(campaign, 2) == []

    second_at = first_at + timedelta(days=1, minutes=1)
    run_at(clocked, second_at)
    assert len(step_messages(campaign, 2)) == 4
    # Only Far's appointment is still more than two days off; the others skip the step and complete.
    assert enrolment(campaign, far).next_due_at == datetime(2030, 3, 12, 9, 0)
    skipped = {run.enrolment_id: run.reason for run in runs(campaign, 3, "skipped")}
    assert skipped == {enrolment(campaign, soon).id: "2 days before appointment_at had already passed",
                       enrolment(campaign, missing).id: "the form field appointment_at is missing",
                       enrolment(campaign, garbled).id: "the form field appointment_at is not an ISO date"}
    assert {enrolment(campaign, c).state for c in (soon, missing, garbled)} == {"completed"}

    run_at(clocked, datetime(2030, 3, 12, 9, 0))
    assert [m.contact_id for m in step_messages(campaign, 3)] == [far.id]
    view = campaign_view(campaign)
    assert (view["enrolled"], view["active"], view["completed"]) == (4, 0, 4)
    assert [s["funnel"]["queued"] for s in view["steps"]] == [4, 4, 1]
    assert [s["funnel"]["skipped"] for s in view["steps"]] == [0, 0, 3]
    assert enrolment(campaign, far).step == 4  # past the last step: completed


def test_a_field_moved_later_waits_and_a_field_removed_skips(clocked):
    campaign = new_campaign(tagged_segment(), [
        {"template": sms_template().slug, "delay": {"field": "appointment_at", "minutes": -60}}])
    moved = make_contact(tags=["recall"], form_data={"appointment_at": "2030-03-05T10:00:00Z"})
    removed = make_contact(tags=["recall"], form_data={"appointment_at": "2030-03-05T10:00:00Z"})
    move(campaign, "activate")
    run_at(clocked, T0)
    db.session.get(Contact, moved.id).form_data = {"appointment_at": "2030-03-07T10:00:00Z"}
    db.session.get(Contact, removed.id).form_data = {}
    db.session.commit()
    run_at(clocked, datetime(2030, 3, 5, 9, 0))
    assert step_messages(campaign, 1) == []
    assert enrolment(campaign, moved).next_due_at == datetime(2030, 3, 7, 9, 0)
    assert enrolment(campaign, removed).state == "completed"
    run_at(clocked, datetime(2030, 3, 7, 9, 0))
    assert [m.contact_id for m in step_messages(campaign, 1)] == [moved.id]


def test_every_exit_rule_takes_the_contact_out_before_the_next_step(clocked):
    secure, second = make_template(slug="secure-note", mode="secure", require_pin="false"), sms_template()
    segment = tagged_segment()
    replier, viewer, leaver, stopper, stayer = (
        make_contact(first_name=name, tags=["recall"]) for name in ("Replier", "Viewer", "Leaver", "Stopper", "Stayer"))
    campaign = new_campaign(segment, [{"template": secure.slug, "delay": {"after": "enrolment", "minutes": 0}},
                                      {"template": second.slug, "delay": {"after": "previous", "minutes": 1440}}],
                            exit_on=["reply", "view", "leave_segment"])
    move(campaign, "activate")
    run_at(clocked, T0)
    assert len(step_messages(campaign, 1)) == 5

    clocked.at(T0 + timedelta(hours=2))
    receive_sms(replier.phone, "Can I come on Tuesday instead?")
    mark_viewed(next(m for m in step_messages(campaign, 1) if m.contact_id == viewer.id), None)
    db.session.get(Contact, leaver.id).tags = []
    receive_sms(stopper.phone, "STOP")
    db.session.commit()

    run_at(clocked, T0 + timedelta(days=1, minutes=1))
    assert [m.contact_id for m in step_messages(campaign, 2)] == [stayer.id]
    reasons = {c.first_name: (enrolment(campaign, c).state, enrolment(campaign, c).exit_reason)
               for c in (replier, viewer, leaver, stopper, stayer)}
    assert reasons == {"Replier": ("exited", "reply"), "Viewer": ("exited", "view"),
                       "Leaver": ("exited", "leave_segment"), "Stopper": ("exited", "opt_out"),
                       "Stayer": ("completed", None)}
    view = campaign_view(campaign)
    assert view["exited"] == {"reply": 1, "view": 1, "opt_out": 1, "leave_segment": 1}
    assert view["steps"][0]["funnel"]["viewed"] == 1


def test_opting_out_exits_even_when_no_rule_was_chosen_and_a_reply_does_not(clocked):
    campaign = new_campaign(tagged_segment(), [
        {"template": sms_template().slug, "delay": {"after": "enrolment", "minutes": 0}},
        {"template": sms_template().slug, "delay": {"after": "previous", "minutes": 60}}])
    replier, stopper = make_contact(tags=["recall"]), make_contact(tags=["recall"])
    move(campaign, "activate")
    run_at(clocked, T0)
    receive_sms(replier.phone, "thanks")
    receive_sms(stopper.phone, "stop")
    db.session.commit()
    run_at(clocked, T0 + timedelta(minutes=61))
    assert [m.contact_id for m in step_messages(campaign, 2)] == [replier.id]
    assert enrolment(campaign, stopper).exit_reason == "opt_out"


def test_pause_keeps_every_place_and_holds_queued_deliveries(clocked):
    campaign = new_campaign(tagged_segment(), [
        {"template": sms_template().slug, "delay": {"after": "enrolment", "minutes": 0}},
        {"template": sms_template().slug, "delay": {"after": "previous", "minutes": 60}}])
    contacts = [make_contact(tags=["recall"]) for _ in range(3)]
    move(campaign, "activate")
    run_at(clocked, T0)
    move(campaign, "pause")
    deliveries = list(db.session.execute(db.select(Delivery.status).join(Message)
                                         .where(Message.campaign_step_id == campaign.steps[0].id)).scalars())
    assert deliveries == ["paused"] * 3
    result = run_at(clocked, T0 + timedelta(hours=5))
    assert result.campaigns == 0 and step_messages(campaign, 2) == []
    assert {(enrolment(campaign, c).step, enrolment(campaign, c).next_due_at) for c in contacts} == {
        (2, T0 + timedelta(minutes=60))}

    move(campaign, "resume")
    assert set(db.session.execute(db.select(Delivery.status).join(Message)
                                  .where(Message.campaign_step_id == campaign.steps[0].id)).scalars()) == {"queued"}
    run_at(clocked, T0 + timedelta(hours=5, minutes=1))
    assert len(step_messages(campaign, 2)) == 3 and len(step_messages(campaign, 1)) == 3


def test_recheck_daily_enrols_a_newcomer_the_next_day_and_only_once(clocked):
    template = sms_template()
    daily = new_campaign(tagged_segment(), [{"template": template.slug, "delay": {"after": "enrolment", "minutes": 0}}],
                         name="Daily", recheck_daily=True)
    once = new_campaign(tagged_segment("recall", "Same people"),
                        [{"template": template.slug, "delay": {"after": "enrolment", "minutes": 0}}], name="Once")
    make_contact(tags=["recall"])
    move(daily, "activate")
    move(once, "activate")
    run_at(clocked, T0)
    newcomer = make_contact(first_name="Newcomer", tags=["recall"])
    run_at(clocked, T0 + timedelta(hours=3))
    assert enrolments_page(daily).total == 1  # not a day yet
    result = run_at(clocked, T0 + timedelta(days=1, minutes=1))
    assert result.enrolled == 1
    assert newcomer.id in [m.contact_id for m in step_messages(daily, 1)]
    assert enrolments_page(once).total == 1  # no re-check asked: newcomers stay out
    assert run_at(clocked, T0 + timedelta(days=1, minutes=2)).enrolled == 0
    assert enrolments_page(daily, contact_id=newcomer.id).items[0].step == 2


def test_a_pass_run_twice_doubles_nothing(clocked):
    campaign = new_campaign(tagged_segment(), [
        {"template": sms_template().slug, "delay": {"after": "enrolment", "minutes": 0}},
        {"template": sms_template().slug, "delay": {"after": "previous", "minutes": 0}}])
    for _ in range(4):
        make_contact(tags=["recall"])
    move(campaign, "activate")
    first = run_at(clocked, T0)
    again = run_at(clocked, T0)
    # A delay of 0 after the previous step: both steps go in the same pass, each once.
    assert (first.tally.queued, again.tally.queued) == (8, 0)
    assert db.session.execute(db.select(db.func.count(Message.id))).scalar_one() == 8
    assert "8 queued" in first.summary() and "4 completed" in first.summary()


# --- the decision of each step ---

def test_each_step_says_which_level_decided_and_its_messages_carry_it(clocked):
    lab = make_template(slug="lab-note", name="Lab results", mode="secure", require_pin="false")
    plain = sms_template()
    campaign = new_campaign(tagged_segment(), [
        {"template": plain.slug, "delay": {"after": "enrolment", "minutes": 0}},
        {"template": plain.slug, "mode": "standard", "delay": {"after": "previous", "minutes": 0}},
        {"template": lab.slug, "delay": {"after": "previous", "minutes": 0}}], mode="secure", require_pin=False)
    inheriting = new_campaign(tagged_segment("recall", "Again"),
                              [{"template": lab.slug, "delay": {"after": "enrolment", "minutes": 0}}], name="Plain")
    reasons = [step["decision"]["reason"] for step in campaign_view(campaign)["steps"]]
    assert reasons == ["secure — set by campaign 'Recall' step 1", "standard — set by campaign 'Recall' step 2",
                       "secure — set by campaign 'Recall' step 3"]
    assert campaign_view(campaign)["steps"][0]["decision"]["decided_by"] == "campaign_step"
    assert campaign_view(inheriting)["steps"][0]["decision"]["reason"] == "secure — set by template 'Lab results'"
    make_contact(tags=["recall"])
    move(campaign, "activate")
    run_at(clocked, T0)
    decided = [(m.mode, m.decided_by) for position in (1, 2, 3) for m in step_messages(campaign, position)]
    assert decided == [("secure", "campaign_step"), ("standard", "campaign_step"), ("secure", "campaign_step")]
    assert all(m.require_pin is False for m in step_messages(campaign, 1))


def test_a_step_the_policy_blocks_needs_an_admin_and_a_reason(clocked):
    get_settings().enforce_recommendations = "block"
    db.session.commit()
    segment = tagged_segment()
    template = make_template(slug="results", situation_key="healthcare", mode="inherit")
    steps = [{"template": template.slug, "mode": "standard", "delay": {"after": "enrolment", "minutes": 0}}]
    with pytest.raises(PolicyRefused):
        create_campaign(STAFF, name="Plain results", segment_id=segment.id, steps=steps,
                        override_reason="the client asked")
    db.session.rollback()
    with pytest.raises(PolicyRefused) as refused:
        create_campaign(SYSTEM, name="Plain results", segment_id=segment.id, steps=steps)
    assert "override_reason" in refused.value.fields
    db.session.rollback()
    campaign = new_campaign(segment, steps, name="Plain results", override_reason="Clients asked in writing")
    [override] = audit_entries("campaign.policy_override")
    assert override.detail == {"reason": "Clients asked in writing", "steps": [{"step": 1,
                                                                                 "blocked_by": ["secure_recommended"]}]}
    make_contact(tags=["recall"])
    move(campaign, "activate")
    run_at(clocked, T0)
    [message] = step_messages(campaign, 1)
    assert message.mode == "standard" and message.override_reason == "Clients asked in writing"


def test_a_step_blocked_after_creation_is_refused_at_activation(clocked):
    template = make_template(slug="results", situation_key="healthcare", mode="inherit")
    campaign = new_campaign(tagged_segment(), [
        {"template": template.slug, "mode": "standard", "delay": {"after": "enrolment", "minutes": 0}}])
    get_settings().enforce_recommendations = "block"
    db.session.commit()
    with pytest.raises(PolicyRefused):
        move(campaign, "activate")
    db.session.rollback()
    assert db.session.get(Campaign, campaign.id).status == "draft"


# --- moves and validation ---

def test_a_move_not_allowed_is_an_invalid_state_and_archive_cancels_what_is_unsent(clocked):
    campaign = new_campaign(tagged_segment(), [
        {"template": sms_template().slug, "delay": {"after": "enrolment", "minutes": 0}}])
    make_contact(tags=["recall"])
    for action in ("pause", "resume"):
        with pytest.raises(Conflict) as refused:
            move(campaign, action)
        assert refused.value.code == "invalid_state"
        db.session.rollback()
    move(campaign, "activate")
    with pytest.raises(Conflict):
        move(campaign, "activate")
    db.session.rollback()
    run_at(clocked, T0)
    move(campaign, "archive")
    [message] = step_messages(campaign, 1)
    assert message.status == "cancelled"
    assert [d.status for d in message.deliveries] == ["cancelled"]
    for action in ACTIONS:
        with pytest.raises(Conflict):
            move(campaign, action)
        db.session.rollback()
    assert [e.action for e in audit_entries() if e.action.startswith("campaign.")] == [
        "campaign.create", "campaign.activate", "campaign.pass", "campaign.archive"]
    moves = [(e.detail["old"], e.detail["new"]) for e in audit_entries() if e.action in (
        "campaign.activate", "campaign.archive")]
    assert moves == [({"status": "draft"}, {"status": "active"}), ({"status": "active"}, {"status": "archived"})]


def test_each_bad_field_of_a_new_campaign_is_named(ctx):
    segment = tagged_segment()
    sms_template(slug="ok")
    with pytest.raises(ValidationFailed) as refused:
        create_campaign(SYSTEM, name="", segment_id=999, mode="loud", exit_on=["reply", "bounce"], steps=[
            {"template": "nope", "delay": {"after": "enrolment", "minutes": 0}},
            {"template": "ok", "mode": "maybe", "delay": {"field": "", "minutes": "soon"}},
            {"template": "ok", "require_pin": "perhaps", "delay": {"after": "enrolment", "minutes": 0}, "colour": 1}])
    assert set(refused.value.fields) == {"name", "segment_id", "mode", "exit_on", "steps.0.template", "steps.1.mode",
                                         "steps.1.delay.field", "steps.1.delay.minutes", "steps.2.require_pin",
                                         "steps.2.colour"}
    db.session.rollback()
    with pytest.raises(ValidationFailed) as refused:
        create_campaign(SYSTEM, name="Empty", segment_id=segment.id, steps=[])
    assert set(refused.value.fields) == {"steps"}
    db.session.rollback()
    new_campaign(segment, [{"template": "ok", "delay": {"after": "enrolment", "minutes": 0}}], name="Taken")
    with pytest.raises(ValidationFailed) as refused:
        create_campaign(SYSTEM, name="TAKEN", segment_id=segment.id,
                        steps=[{"template": "ok", "delay": {"after": "enrolment", "minutes": 0}}])
    assert "is taken" in refused.value.fields["name"]


# --- the rules that protect the client ---

def test_consent_reachability_and_the_frequency_cap_suppress_a_step_with_its_reason(clocked):
    get_settings().frequency_cap = "1/day"
    db.session.commit()
    offer = make_template(slug="offer", situation_key="marketing", mode="standard")
    reminder = sms_template()
    opted_in = make_contact(first_name="In", tags=["recall"], marketing_consent=True)
    make_contact(first_name="Out", tags=["recall"], marketing_consent=False)
    make_contact(first_name="NoPhone", tags=["recall"], phone=None, marketing_consent=True)
    at_once = {"after": "enrolment", "minutes": 0}
    marketing = new_campaign(tagged_segment(), [{"template": offer.slug, "delay": at_once}], name="Offer")
    second = new_campaign(tagged_segment("recall", "Same"),
                          [{"template": reminder.slug, "delay": {"after": "enrolment", "minutes": 0}}], name="Second")
    move(marketing, "activate")
    move(second, "activate")
    run_at(clocked, T0)
    assert [m.contact_id for m in step_messages(marketing, 1)] == [opted_in.id]
    reasons = sorted(run.reason for run in runs(marketing, 1, "suppressed"))
    assert reasons == ["no marketing consent for sms", "no phone number for sms"]
    # Opted in got the offer: the reminder of the same day is over the cap of one a day.
    capped = {run.enrolment_id: run.reason for run in runs(second, 1, "suppressed")}
    assert capped[enrolment(second, opted_in).id] == "over the frequency cap"
    assert campaign_view(marketing)["steps"][0]["funnel"]["suppressed"] == 2
    assert campaign_view(second)["steps"][0]["funnel"]["suppressed"] == 2  # capped, and NoPhone unreachable


# --- races: what the unique keys and the lease guard ---

def test_a_batch_another_worker_got_to_first_is_rolled_back_and_the_pass_goes_on(app, clocked):
    app.config["FANOUT_BATCH_SIZE"] = 1
    campaign = new_campaign(tagged_segment(), [
        {"template": sms_template().slug, "delay": {"after": "enrolment", "minutes": 0}}])
    first, taken, last = (make_contact(tags=["recall"]) for _ in range(3))
    move(campaign, "activate")
    # As if another worker had queued the step for this contact a moment ago.
    rival = Message(contact_id=taken.id, direction="out", channel="sms", mode="standard", status="queued",
                    campaign_step_id=campaign.steps[0].id)
    db.session.add(rival)
    db.session.commit()
    result = run_at(clocked, T0)
    assert result.conflicts == 1 and result.tally.queued == 2
    assert sorted(m.contact_id for m in step_messages(campaign, 1)) == [first.id, taken.id, last.id]
    # Its lease is kept: it comes back once the lease runs out, not again within this pass.
    assert enrolment(campaign, taken).step == 1 and enrolment(campaign, taken).lease_until > T0
    assert "1 batches left to another worker" in result.summary()


def test_a_worker_whose_lease_was_taken_over_does_nothing_with_its_batch(clocked):
    campaign = new_campaign(tagged_segment(), [
        {"template": sms_template().slug, "delay": {"after": "enrolment", "minutes": 0}}])
    for _ in range(3):
        make_contact(tags=["recall"])
    move(campaign, "activate")
    slow = claim_batch(campaign.id, 0, T0, "slow:1", 10)
    assert len(slow) == 3
    assert claim_batch(campaign.id, 0, T0, "fast:2", 10) == []  # a live lease is never picked
    clocked.at(T0 + timedelta(minutes=10))  # the slow worker's lease runs out
    fast = claim_batch(campaign.id, 0, T0, "fast:2", 10)
    assert fast == slow
    plan = plan_for(db.session.get(Campaign, campaign.id))
    assert work_claimed(plan, fast, T0, "fast:2", CampaignPassResult()).queued == 3
    assert work_claimed(plan, slow, T0, "slow:1", CampaignPassResult()).queued == 0
    assert len(step_messages(campaign, 1)) == 3


def test_a_steps_messages_go_out_through_the_engine_and_the_funnel_follows_them(app, clocked):
    secure = make_template(slug="secure-note", mode="secure", require_pin="false")
    campaign = new_campaign(tagged_segment(),
                            [{"template": secure.slug, "delay": {"after": "enrolment", "minutes": 0}}])
    reader = make_contact(tags=["recall"])
    make_contact(tags=["recall"])
    move(campaign, "activate")
    run_at(clocked, T0)
    result = dispatch_once()
    assert result.sent == 2
    db.session.expire_all()
    message = next(m for m in step_messages(campaign, 1) if m.contact_id == reader.id)
    client = app.test_client()
    assert client.get(link_path(message)).status_code == 200
    assert client.post(link_path(message)).status_code == 200
    funnel = campaign_view(db.session.get(Campaign, campaign.id))["steps"][0]["funnel"]
    assert {k: funnel[k] for k in ("queued", "sent", "opened", "viewed")} == {"queued": 0, "sent": 2, "opened": 1,
                                                                              "viewed": 1}


def test_the_command_runs_one_pass_and_says_what_it_did(app, runner):
    with app.app_context():
        campaign = new_campaign(tagged_segment(), [
            {"template": sms_template().slug, "delay": {"after": "enrolment", "minutes": 0}}])
        make_contact(tags=["recall"])
        make_contact(tags=["recall"], phone=None)
        move(campaign, "activate")
    result = runner.invoke(args=["campaigns", "run"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == ("1 active campaign: 0 enrolled, 1 queued, 1 suppressed, 0 skipped, 0 exited, "
                                     "2 completed")
    assert runner.invoke(args=["campaigns", "run"]).output.strip().endswith("0 queued, 0 suppressed, 0 skipped, "
                                                                            "0 exited, 0 completed")
