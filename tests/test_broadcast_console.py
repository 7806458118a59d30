"""The console's broadcast pages through the test client, as staff meet them: the list, the form, the draft's
audience panel and decision, what the client receives, the confirmation, progress, pause/resume/cancel, the
suppressed and failed recipients."""
from __future__ import annotations

import html
import re

import pytest

from messaging.audience.segments import create_segment
from messaging.audit import SYSTEM
from messaging.db import db
from messaging.delivery.engine import dispatch_until_idle
from messaging.models import AuditEntry, Broadcast, Delivery, Message, Template
from messaging.outreach.broadcast_fanout import run_broadcasts
from messaging.settings import get_settings
from seeds.factories import make_contact, make_template
from tests.support.console import signed_in_client

NEW = "/admin/broadcasts/new"


def text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def cell(response, attribute: str, key: str) -> str:
    match = re.search(rf'{attribute}="{key}"[^>]*>([^<]*)<', response.get_data(as_text=True))
    assert match, f"no {attribute}={key} on the page"
    return html.unescape(match.group(1)).strip()


def client_text(response) -> str:
    match = re.search(r"data-client-text>([^<]*)<", response.get_data(as_text=True))
    assert match, "no client text on the page"
    return html.unescape(match.group(1))


def is_hidden(response, marker: str) -> bool:
    match = re.search(rf"<[^>]*\b{marker}\b[^>]*>", response.get_data(as_text=True))
    assert match, f"no {marker} element"
    return " hidden" in match.group(0)


@pytest.fixture
def audience(app) -> dict:
    """VIP: Ann, Bob, Eve; Clinic: Ann again, Cy (opted out), Di (no phone); marketing: Eve has no consent."""
    with app.app_context():
        people = {
            "ann": make_contact(first_name="Ann", last_name="Avery", tags=["vip", "clinic"], marketing_consent=True),
            "bob": make_contact(first_name="Bob", last_name="Brook", tags=["vip"], marketing_consent=True),
            "eve": make_contact(first_name="Eve", last_name="Ives", tags=["vip"]),
            "cy": make_contact(first_name="Cy", last_name="Cole", tags=["clinic"], marketing_consent=True,
                               sms_consent=False),
            "di": make_contact(first_name="Di", last_name="Dunn", tags=["clinic"], marketing_consent=True, phone=None),
        }
        vip = create_segment(SYSTEM, "VIP", {"match": "all", "conditions": [{"tag": "vip"}]})
        clinic = create_segment(SYSTEM, "Clinic", {"match": "all", "conditions": [{"tag": "clinic"}]})
        make_template(slug="spring-offer", name="Spring offer", situation_key="marketing",
                      body="Spring offer for {{ first_name }}: 20% off")
        db.session.commit()
        return {"segments": [str(vip.id), str(clinic.id)], **{name: c.id for name, c in people.items()}}


@pytest.fixture
def staff(app):
    return signed_in_client(app, "staff")


def form(audience: dict, **fields) -> dict:
    return {"name": "Spring offer", "segment_ids": audience["segments"], "template": "spring-offer",
            "mode": "inherit", "require_pin": "inherit", "when": "now", "action": "create", **fields}


def create(client, audience, **fields):
    response = client.post(NEW, data=form(audience, **fields))
    assert response.status_code == 302, text(response)
    return response.headers["Location"]


def broadcast_id(app, name: str = "Spring offer") -> int:
    with app.app_context():
        return db.session.execute(db.select(Broadcast.id).filter_by(name=name)).scalar_one()


def test_the_list_starts_empty_and_then_shows_each_broadcast(app, staff, audience):
    empty = staff.get("/admin/broadcasts/")
    assert empty.status_code == 200
    assert "No broadcasts yet" in text(empty) and f'href="{NEW}"' in empty.get_data(as_text=True)
    create(staff, audience)
    listed = staff.get("/admin/broadcasts/")
    assert "No broadcasts yet" not in text(listed)
    assert "Spring offer" in text(listed) and "Draft — nothing is sent yet" in text(listed)
    assert "Broadcasts" in text(staff.get("/admin/"))  # in the menu


def test_a_draft_shows_every_count_the_decision_and_what_the_client_receives_before_sending(app, staff, audience):
    page_url = create(staff, audience, mode="standard")
    page = staff.get(page_url)
    assert page.status_code == 200
    shown = {key: cell(page, "data-audience", key) for key in
             ("matched", "duplicates", "opted_out", "no_consent", "unreachable", "frequency_capped", "to_send")}
    assert shown == {"matched": "6", "duplicates": "1", "opted_out": "1", "no_consent": "1", "unreachable": "1",
                     "frequency_capped": "0", "to_send": "2"}
    page_text = text(page)
    assert "standard — set by broadcast 'Spring offer'" in page_text
    assert "Recommendation for marketing" in page_text
    assert "Draft — nothing is sent yet" in page_text
    # The first recipient (Ann) as the composer would render it for her: the same renderer, the same text.
    assert client_text(page) == "Spring offer for Ann: 20% off"
    with app.app_context():
        template_id = db.session.execute(db.select(Template.id).filter_by(slug="spring-offer")).scalar_one()
        assert db.session.execute(db.select(Message)).first() is None
    composer = staff.post("/admin/compose/preview", data={
        "contact_id": audience["ann"], "channel": "sms", "template_id": template_id, "secure": "",
        "secure_touched": "1"}).json
    assert composer["client_text"] == client_text(page)
    assert not is_hidden(page, "data-send") and is_hidden(page, "data-progress-card")
    assert "once it is sent" in page_text  # the suppressed list comes with the frozen audience


def test_a_secure_draft_shows_the_notice_not_the_content(staff, audience):
    page = staff.get(create(staff, audience, mode="secure"))
    assert "secure — set by broadcast 'Spring offer'" in text(page)
    assert "20% off" not in client_text(page) and "/m/" in client_text(page)


def test_the_form_keeps_the_input_and_shows_each_problem(app, staff, audience):
    page = staff.post(NEW, data=form(audience, segment_ids=[], name="  "))
    assert page.status_code == 422
    assert "Choose at least one segment." in text(page)
    create(staff, audience)
    taken = staff.post(NEW, data=form(audience, template="spring-offer"))
    assert taken.status_code == 422
    assert "Another broadcast has this name" in text(taken)
    assert 'value="Spring offer"' in taken.get_data(as_text=True)
    later = staff.post(NEW, data=form(audience, name="Later", when="later", send_at="yesterday"))
    assert later.status_code == 422 and "Enter a date and time" in text(later)


def test_segments_are_chosen_in_order_and_without_javascript_a_row_is_added(app, staff, audience):
    first = staff.post(NEW, data=form(audience, segment_ids=[audience["segments"][1]], action="add_segment"))
    assert first.status_code == 200
    selects = re.findall(r'<select id="segment-\d+" name="segment_ids"', first.get_data(as_text=True))
    assert len(selects) == 2
    create(staff, audience, segment_ids=[audience["segments"][1], audience["segments"][0]])
    with app.app_context():
        broadcast = db.session.execute(db.select(Broadcast)).scalar_one()
        assert broadcast.segment_ids == [int(audience["segments"][1]), int(audience["segments"][0])]
    # Clinic first: Ann counts through Clinic, and VIP brings her again as the duplicate.
    page = staff.get(f"/admin/broadcasts/{broadcast.id}/")
    assert cell(page, "data-audience", "duplicates") == "1" and cell(page, "data-audience", "matched") == "6"
    assert re.search(r"Clinic</a>, then <a[^>]*>VIP", page.get_data(as_text=True))


def test_a_block_is_refused_for_staff_and_an_admin_overrides_it_with_a_reason(app, staff, audience):
    with app.app_context():
        get_settings().enforce_recommendations = "block"
        make_template(slug="lab-news", name="Lab news", situation_key="healthcare", body="Results for {{ first_name }}")
        db.session.commit()
    blocked = form(audience, template="lab-news", mode="standard", name="Lab news")
    refused = staff.post(NEW, data=blocked)
    assert refused.status_code == 409
    assert "Only an admin can override it" in text(refused)
    assert "data-override" not in refused.get_data(as_text=True)

    admin = signed_in_client(app, "admin")
    asked = admin.post(NEW, data=blocked)
    assert asked.status_code == 409 and "data-override" in asked.get_data(as_text=True)
    page = admin.get(create(admin, audience, **{**blocked, "override_reason": "Parents asked for plain text"}))
    assert "Blocked by policy" in text(page) and "Parents asked for plain text" in text(page)
    with app.app_context():
        assert db.session.execute(db.select(AuditEntry).filter_by(action="broadcast.policy_override")).scalar_one()


def test_send_asks_first_repeating_the_count_then_the_progress_follows_to_the_end(app, staff, audience):
    page_url = create(staff, audience, mode="standard")
    bid = broadcast_id(app)
    confirm = staff.get(f"/admin/broadcasts/{bid}/send")
    assert confirm.status_code == 200
    assert "to 2 contacts" in text(confirm) and "Send to 2 contacts" in text(confirm)
    with app.app_context():
        assert db.session.get(Broadcast, bid).status == "draft"  # asking sent nothing

    sent = staff.post(f"/admin/broadcasts/{bid}/send")
    assert sent.status_code == 302 and sent.headers["Location"] == page_url
    page = staff.get(page_url)
    assert "'Spring offer' is sending." in text(page)
    assert not is_hidden(page, "data-progress-card") and is_hidden(page, "data-send")
    assert not is_hidden(page, "data-pause") and is_hidden(page, "data-resume")
    assert 'src="/admin/assets/compose/broadcasts.js"' in page.get_data(as_text=True)
    state = staff.get(f"/admin/broadcasts/{bid}/progress.json")
    assert state.headers["Cache-Control"] == "no-store"
    assert (state.json["status"], state.json["to_send"], state.json["percent"], state.json["done"]) == \
        ("sending", 2, 0, False)
    # The suppressed recipients are listed with their reasons once the audience is frozen.
    assert cell(page, "data-reason", "opted_out") == "Opted out of sms messages"
    assert cell(page, "data-reason", "no_consent") == "No marketing consent for sms"
    assert cell(page, "data-reason", "unreachable") == "No phone number for sms"
    assert "Ann Avery" not in re.search(r"data-suppressed>.*?</section>", page.get_data(as_text=True), re.S).group(0)

    with app.app_context():
        run_broadcasts()
        dispatch_until_idle(max_seconds=10)
        run_broadcasts()
    state = staff.get(f"/admin/broadcasts/{bid}/progress.json").json
    assert (state["status"], state["percent"], state["finished"], state["done"]) == ("sent", 100, 2, True)
    assert state["progress"]["queued"] == 0 and state["progress"]["sent"] + state["progress"]["delivered"] == 2
    finished = staff.get(page_url)
    assert re.search(r"data-broadcast-status>\s*Sent\s*<", finished.get_data(as_text=True))
    assert is_hidden(finished, "data-pause") and is_hidden(finished, "data-cancel")
    assert re.search(r'aria-valuenow="100"', finished.get_data(as_text=True))


def test_pause_resume_and_cancel_with_a_confirmation(app, staff, audience):
    page_url = create(staff, audience)
    bid = broadcast_id(app)
    staff.post(f"/admin/broadcasts/{bid}/send")
    with app.app_context():
        run_broadcasts()
    paused = staff.post(f"/admin/broadcasts/{bid}/pause", follow_redirects=True)
    assert "is paused: nothing more goes out" in text(paused)
    assert not is_hidden(paused, "data-resume") and is_hidden(paused, "data-pause")
    with app.app_context():
        assert set(db.session.execute(db.select(Delivery.status)).scalars()) == {"paused"}
    again = staff.post(f"/admin/broadcasts/{bid}/pause", follow_redirects=True)
    assert "cannot be paused" in text(again)
    resumed = staff.post(f"/admin/broadcasts/{bid}/resume", follow_redirects=True)
    assert "goes on where it stopped" in text(resumed)

    question = staff.get(f"/admin/broadcasts/{bid}/cancel")
    assert "Cancel 'Spring offer'?" in text(question) and "cannot be undone" in text(question)
    with app.app_context():
        assert db.session.get(Broadcast, bid).status == "sending"  # asking cancelled nothing
    cancelled = staff.post(f"/admin/broadcasts/{bid}/cancel", follow_redirects=True)
    assert "'Spring offer' is cancelled." in text(cancelled)
    assert staff.get(page_url).status_code == 200
    with app.app_context():
        assert set(db.session.execute(db.select(Message.status)).scalars()) == {"cancelled"}


def test_failed_recipients_are_listed_with_retry(app, staff, audience):
    create(staff, audience)
    bid = broadcast_id(app)
    staff.post(f"/admin/broadcasts/{bid}/send")
    with app.app_context():
        run_broadcasts()
        delivery = db.session.execute(db.select(Delivery).join(Message).filter(
            Message.contact_id == audience["bob"])).scalar_one()
        delivery.status, delivery.last_error = "failed", "21610: unsubscribed recipient"
        delivery.message.status = "failed"
        db.session.commit()
        delivery_id = delivery.id
    page = staff.get(f"/admin/broadcasts/{bid}/")
    failed = re.search(r"data-failed>.*?</section>", page.get_data(as_text=True), re.S).group(0)
    assert "Bob Brook" in failed and "21610: unsubscribed recipient" in failed and "Ann Avery" not in failed
    retried = staff.post(f"/admin/broadcasts/{bid}/retry", data={"delivery": delivery_id}, follow_redirects=True)
    assert "The message to Bob Brook is queued again." in text(retried)
    assert "data-failed>" not in retried.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Delivery, delivery_id).status == "queued"
        assert db.session.execute(db.select(AuditEntry).filter_by(action="delivery.retry")).scalar_one()
    # A delivery of another broadcast (or none) cannot be retried from this page.
    assert staff.post(f"/admin/broadcasts/{bid}/retry", data={"delivery": 4242}).status_code == 404


def test_an_unknown_broadcast_is_a_404_page(staff):
    for path in ("/admin/broadcasts/4242/", "/admin/broadcasts/4242/progress.json", "/admin/broadcasts/4242/send"):
        assert staff.get(path).status_code == 404


def test_the_pages_need_sign_in(client):
    response = client.get("/admin/broadcasts/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
