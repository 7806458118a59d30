"""The console's Campaigns area as staff use it: the step editor with each step's decision, create, activate
after a confirmation, the per-step funnel, the enrolments page by page, pause, resume and archive."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from messaging.audience.segments import create_segment
from messaging.audit import SYSTEM
from messaging.db import db
from messaging.models import Campaign, CampaignEnrolment, Delivery, Message
from messaging.outreach.campaign_runner import run_campaigns_once
from messaging.settings import get_settings
from seeds.factories import make_contact, make_template, make_user
from tests.support.browser import sign_in_page
from tests.support.console import PASSWORD, signed_in_client

T0 = datetime(2030, 3, 4, 9, 0)


@pytest.fixture
def world(app):
    with app.app_context():
        segment = create_segment(SYSTEM, "Recall", {"match": "all", "conditions": [{"tag": "recall"}]})
        db.session.commit()
        make_template(slug="hello", name="Hello", body="Hello {{ first_name }}")
        make_template(slug="results", name="Results", situation_key="healthcare", body="Your results are in.")
        for n in range(55):
            make_contact(first_name=f"Pat{n:02d}", tags=["recall"])
        return {"segment_id": segment.id}


def editor(world, *rows, **fields) -> dict:
    """The editor's form: campaign fields and one ``steps-N-…`` group per row (a dict of that row's inputs)."""
    data = {"name": "Recall", "segment_id": str(world["segment_id"]), "mode": "secure", "require_pin": "false",
            "exit_on": ["reply"], **fields}
    for index, row in enumerate(rows):
        step = {"template": "hello", "mode": "inherit", "require_pin": "inherit", "kind": "enrolment", "amount": "0",
                "unit": "days", "direction": "before", "field": "", **row}
        data.update({f"steps-{index}-{key}": value for key, value in step.items()})
    return data


def text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def clean(html: str) -> None:
    """What the console's CSP would refuse is not on the page."""
    assert not re.search(r"<[^>]+\sstyle\s*=", html) and "<style" not in html
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html)


def test_the_editor_adds_removes_and_reorders_steps_and_shows_each_decision(app, world):
    client = signed_in_client(app, "staff")
    empty = client.get("/admin/campaigns/")
    assert empty.status_code == 200 and "No campaigns yet" in text(empty)
    page = client.get("/admin/campaigns/new")
    assert page.status_code == 200 and 'name="steps-0-template"' in text(page)
    clean(page.get_data(as_text=True))

    added = client.post("/admin/campaigns/new", data={**editor(world, {}), "action": "add_step"})
    assert 'name="steps-1-template"' in text(added) and "Step 2" in text(added)
    two = editor(world, {"template": "hello"}, {"template": "results", "mode": "standard", "kind": "previous",
                                                 "amount": "1"})
    shown = text(client.post("/admin/campaigns/new", data={**two, "action": "check"}))
    assert "secure — set by campaign &#39;Recall&#39; step 1" in shown
    assert "standard — set by campaign &#39;Recall&#39; step 2" in shown
    assert "recommended to be sent secure" in shown  # the healthcare template sent standard warns

    swapped = text(client.post("/admin/campaigns/new", data={**two, "action": "down:steps-0"}))
    assert re.search(r'name="steps-0-template".*?<option value="results" selected', swapped)
    removed = text(client.post("/admin/campaigns/new", data={**two, "action": "remove:steps-0"}))
    assert 'name="steps-1-template"' not in removed
    assert re.search(r'name="steps-0-template".*?<option value="results" selected', removed)

    live = client.post("/admin/campaigns/preview", data=two)
    assert live.status_code == 200
    assert "standard — set by campaign &#39;Recall&#39; step 2" in live.json["decisions"]["steps-1"]
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(Campaign.id))).scalar_one() == 0


def test_bad_steps_come_back_with_the_reason_under_the_row(app, world):
    client = signed_in_client(app, "staff")
    data = editor(world, {"template": ""}, {"kind": "field", "field": "", "amount": "two"})
    answer = client.post("/admin/campaigns/new", data={**data, "action": "create", "name": ""})
    assert answer.status_code == 422
    page = text(answer)
    assert re.search(r'data-row-error="steps-0">Choose a template\.<', page)
    assert re.search(r'data-row-error="steps-1">Enter a whole number, 0 or more\.<', page)
    assert 'data-error-for="name"' in page


def test_create_activate_run_and_read_the_funnel_and_the_enrolments(app, world, clock):
    clock.at(T0)
    client = signed_in_client(app, "staff")
    data = editor(world, {"template": "hello"},
                  {"template": "hello", "mode": "standard", "kind": "previous", "amount": "1", "unit": "days"},
                  {"template": "hello", "kind": "field", "field": "appointment_at", "amount": "2",
                   "direction": "before"})
    created = client.post("/admin/campaigns/new", data={**data, "action": "create"})
    assert created.status_code == 302, text(created)
    with app.app_context():
        campaign = db.session.execute(db.select(Campaign)).scalar_one()
        assert [s.delay for s in campaign.steps] == [{"after": "enrolment", "minutes": 0},
                                                     {"after": "previous", "minutes": 1440},
                                                     {"field": "appointment_at", "minutes": -2880}]
        campaign_id = campaign.id
    details = client.get(created.headers["Location"])
    page = text(details)
    clean(details.get_data(as_text=True))
    assert "Draft — nobody enrolled yet" in page and "2 days before appointment_at" in page
    assert "standard — set by campaign &#39;Recall&#39; step 2" in page
    assert 'data-move="activate"' in page and 'data-move="pause"' not in page

    confirm = text(client.get(f"/admin/campaigns/{campaign_id}/activate"))
    assert "55 contacts match the segment now" in confirm
    assert client.post(f"/admin/campaigns/{campaign_id}/activate").status_code == 302
    with app.app_context():
        run_campaigns_once()
    page = text(client.get(f"/admin/campaigns/{campaign_id}/"))
    assert 'data-campaign-status="active"' in page
    assert 'data-count="enrolled">55<' in page
    assert re.search(r'data-funnel="1".*?max="55" value="55".*?data-funnel-count="queued">55<', page)
    assert re.search(r'data-funnel="2".*?data-funnel-count="queued">0<', page)
    # The enrolments, 50 a page: each contact's next step and when it is due.
    assert page.count("data-enrolment-contact=") == 50
    assert "step 2 of 3" in page and "5 Mar 2030, 09:00 UTC" in page
    second = text(client.get(f"/admin/campaigns/{campaign_id}/?page=2"))
    assert second.count("data-enrolment-contact=") == 5

    assert "Nothing more is queued" in text(client.get(f"/admin/campaigns/{campaign_id}/pause"))
    client.post(f"/admin/campaigns/{campaign_id}/pause")
    with app.app_context():
        held = db.session.execute(db.select(db.func.count(Delivery.id)).where(Delivery.status == "paused")).scalar_one()
        assert held == 55
    page = text(client.get(f"/admin/campaigns/{campaign_id}/"))
    assert 'data-move="resume"' in page and 'data-move="activate"' not in page
    client.post(f"/admin/campaigns/{campaign_id}/resume")
    assert "This cannot be undone" in text(client.get(f"/admin/campaigns/{campaign_id}/archive"))
    client.post(f"/admin/campaigns/{campaign_id}/archive")
    with app.app_context():
        statuses = set(db.session.execute(db.select(Message.status)).scalars())
        assert statuses == {"cancelled"}
    page = text(client.get(f"/admin/campaigns/{campaign_id}/"))
    assert 'data-campaign-status="archived"' in page
    assert "data-move=" not in re.search(r"data-actions>(.*?)All campaigns", page)[1]  # nothing left to do
    listed = text(client.get("/admin/campaigns/"))
    assert "Recall" in listed and "Archived" in listed


def test_a_move_not_allowed_is_flashed_and_changes_nothing(app, world):
    client = signed_in_client(app, "staff")
    client.post("/admin/campaigns/new", data={**editor(world, {}), "action": "create"})
    with app.app_context():
        campaign_id = db.session.execute(db.select(Campaign.id)).scalar_one()
    answer = client.post(f"/admin/campaigns/{campaign_id}/pause", follow_redirects=True)
    assert "cannot be paused" in text(answer)
    with app.app_context():
        assert db.session.get(Campaign, campaign_id).status == "draft"
        assert db.session.execute(db.select(db.func.count(CampaignEnrolment.id))).scalar_one() == 0


def test_a_blocked_step_is_refused_for_staff_and_an_admin_overrides_with_a_reason(app, world):
    with app.app_context():
        get_settings().enforce_recommendations = "block"
        db.session.commit()
    blocked = editor(world, {"template": "results", "mode": "standard"}, mode="inherit")
    staff = signed_in_client(app, "staff")
    refused = staff.post("/admin/campaigns/new", data={**blocked, "action": "create"})
    assert refused.status_code == 409 and "data-refusal" in text(refused) and "data-override" not in text(refused)
    admin = signed_in_client(app, "admin")
    offered = text(admin.post("/admin/campaigns/new", data={**blocked, "action": "create"}))
    assert "data-override" in offered and "Blocked by policy" in offered
    created = admin.post("/admin/campaigns/new", data={**blocked, "action": "create",
                                                       "override_reason": "Clients asked for plain texts"})
    assert created.status_code == 302
    with app.app_context():
        assert db.session.execute(db.select(Campaign.override_reason)).scalar_one() == "Clients asked for plain texts"


def test_a_pass_later_fills_the_second_steps_bar(app, world, clock):
    clock.at(T0)
    client = signed_in_client(app, "staff")
    client.post("/admin/campaigns/new", data={**editor(world, {}, {"kind": "previous", "amount": "1",
                                                                    "unit": "hours"}), "action": "create"})
    with app.app_context():
        campaign_id = db.session.execute(db.select(Campaign.id)).scalar_one()
    client.post(f"/admin/campaigns/{campaign_id}/activate")
    with app.app_context():
        run_campaigns_once()
    clock.at(T0 + timedelta(hours=1, minutes=1))
    with app.app_context():
        run_campaigns_once()
    page = text(client.get(f"/admin/campaigns/{campaign_id}/?state=completed"))
    assert re.search(r'data-funnel="2".*?data-funnel-count="queued">55<', page)
    assert 'data-count="completed">55<' in page and page.count("data-enrolment-contact=") == 50


@pytest.mark.browser
def test_in_chromium_each_steps_decision_follows_the_editor_and_the_field_inputs_show_for_date_steps(live_server,
                                                                                                      page):
    with live_server.app.app_context():
        make_user("clerk@example.com", role="staff", password=PASSWORD)
        create_segment(SYSTEM, "Recall", {"match": "all", "conditions": [{"tag": "recall"}]})
        db.session.commit()
        make_template(slug="hello", name="Hello", body="Hello {{ first_name }}")
    page.set_default_timeout(5000)
    sign_in_page(page, live_server.url, "clerk@example.com", next_path="/admin/campaigns/new")
    page.wait_for_url(f"{live_server.url}/admin/campaigns/new")
    page.fill("input[name=name]", "Recall")
    page.select_option("select[name=segment_id]", label="Recall")
    page.select_option("select[name=mode]", "secure")
    page.select_option("select[name=steps-0-template]", "hello")
    decision = page.locator("[data-decision-for='steps-0']")
    expect(decision).to_contain_text("secure — set by campaign 'Recall' step 1")
    page.select_option("select[name=steps-0-mode]", "standard")
    expect(decision).to_contain_text("standard — set by campaign 'Recall' step 1")  # no reload: the live panel

    expect(page.locator("input[name=steps-0-field]")).to_be_hidden()
    page.select_option("select[name=steps-0-kind]", "field")
    expect(page.locator("input[name=steps-0-field]")).to_be_visible()
    page.fill("input[name=steps-0-field]", "appointment_at")
    page.fill("input[name=steps-0-amount]", "2")
    page.click("[data-create]")
    page.wait_for_url(f"{live_server.url}/admin/campaigns/*/")
    expect(page.locator("[data-step-position='1']")).to_contain_text("2 days before appointment_at")
    expect(page.locator("[data-campaign-status]")).to_have_text("Draft — nobody enrolled yet")
