"""Link lifetime: the organisation's bounds, a template's choice within them, expire after first view."""
from __future__ import annotations

import re
from datetime import timedelta

from messaging.client.access import resolve_link
from messaging.client.lifetime import after_first_view
from messaging.clock import utcnow
from messaging.db import db
from messaging.models import Message, Template
from messaging.security.tokens import make_link_token
from messaging.settings import get_settings
from seeds.factories import make_contact, make_template
from tests.support.api import caller
from tests.support.console import signed_in_client
from tests.support.messages import link_path, send


def set_settings(**values):
    settings = get_settings()
    for key, value in values.items():
        setattr(settings, key, value)
    db.session.commit()


def hours_alive(message: Message) -> float:
    return (message.expires_at - message.created_at).total_seconds() / 3600


def test_a_template_chooses_its_link_lifetime_within_the_organisations_bounds(ctx):
    contact = make_contact(first_name="Lea", pin="2468")
    short = make_template("short-lived", body="Your results are in", mode="secure", link_ttl_hours=6)
    default = make_template("default-lived", body="Your statement is ready", mode="secure")
    assert hours_alive(send(contact, template=short)) == 6
    assert hours_alive(send(contact, template=default)) == get_settings().link_ttl_hours == 168
    # The bounds narrowed after the template was saved: its links are clamped, never refused.
    set_settings(link_ttl_min_hours=24, link_ttl_max_hours=72, link_ttl_hours=48)
    assert hours_alive(send(contact, template=short)) == 24
    assert hours_alive(send(contact, template=default)) == 48
    assert hours_alive(send(contact, body="One-off", secure=True)) == 48


def test_a_scheduled_secure_message_lives_its_lifetime_from_when_it_goes_out(ctx):
    contact = make_contact(first_name="Lea", pin="2468")
    template = make_template("week", body="Your results are in", mode="secure", link_ttl_hours=24)
    later = utcnow().replace(microsecond=0) + timedelta(days=2)
    message = send(contact, template=template, send_at=later)
    assert message.expires_at == later + timedelta(hours=24)


def test_expire_after_view_comes_from_the_template_unless_the_message_chooses(ctx):
    contact = make_contact(first_name="Lea", pin="2468")
    once = make_template("read-once", body="Your code is in", mode="secure", expire_after_view=True)
    assert send(contact, template=once).expire_after_view is True
    assert send(contact, template=once, expire_after_view=False).expire_after_view is False
    assert send(contact, body="Plain", secure=True).expire_after_view is False
    assert send(contact, body="Plain", secure=True, expire_after_view=True).expire_after_view is True


def test_after_the_first_view_a_read_once_link_stops_working(ctx, client):
    contact = make_contact(first_name="Lea")
    message = send(contact, body="Your code is 9911", secure=True, require_pin=False, expire_after_view=True)
    path = link_path(message)
    assert client.get(path).status_code == 200
    after_first_view(message)
    db.session.commit()
    assert resolve_link(path.removeprefix("/m/")) is None
    assert client.get(path).status_code in (404, 410)
    # A message that is not read-once keeps its link after a view.
    other = send(contact, body="Your statement", secure=True, require_pin=False)
    after_first_view(other)
    db.session.commit()
    assert client.get(link_path(other)).status_code == 200


def test_the_api_takes_expire_after_view_per_message(app):
    api = caller(app)
    with app.app_context():
        contact_id = make_contact(first_name="Lea", pin="2468").id
    sent = api.post("/messages", json={"contact_id": contact_id, "channel": "sms", "body": "Read once",
                                       "secure": True, "expire_after_view": True})
    assert sent.status_code == 201, sent.json
    bad = api.post("/messages", json={"contact_id": contact_id, "channel": "sms", "body": "x",
                                      "expire_after_view": "sometimes"})
    assert bad.status_code == 422 and "expire_after_view" in bad.json["error"]["fields"]
    with app.app_context():
        message = db.session.execute(db.select(Message).filter_by(public_id=sent.json["id"])).scalar_one()
        assert message.expire_after_view is True


def template_form(**values) -> dict:
    form = {"name": "Lab results", "slug": "read-once-results", "channel": "sms", "situation": "", "subject": "",
            "body": "Your lab results are ready", "mode": "secure", "require_pin": "inherit",
            "notification_text": ""}
    form.update(values)
    return form


def test_an_admin_sets_a_templates_lifetime_and_read_once_in_the_form(app):
    admin = signed_in_client(app, "admin")
    page = admin.get("/admin/templates/new/").get_data(as_text=True)
    assert 'name="link_ttl_hours"' in page and 'name="expire_after_view"' in page
    assert "from 1 to 2160 hours" in page

    too_long = admin.post("/admin/templates/new/", data=template_form(link_ttl_hours="5000"))
    assert too_long.status_code == 422
    assert "must be a whole number of hours from 1 to 2160" in too_long.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Template).filter_by(slug="read-once-results").count() == 0

    saved = admin.post("/admin/templates/new/", data=template_form(link_ttl_hours="48", expire_after_view="1"))
    assert saved.status_code == 302
    with app.app_context():
        template = db.session.execute(db.select(Template).filter_by(slug="read-once-results")).scalar_one()
        assert (template.link_ttl_hours, template.expire_after_view) == (48, True)
        template_id = template.id
    details = admin.get(f"/admin/templates/details/?id={template_id}").get_data(as_text=True)
    assert "works 48 hours; expires after the first view" in details
    edit = admin.get(f"/admin/templates/edit/?id={template_id}").get_data(as_text=True)
    assert 'value="48"' in edit
    assert re.search(r'id="expire_after_view" name="expire_after_view" value="1"\s+checked', edit)
    # An unticked box and an empty lifetime: read-once off, the organisation's default.
    admin.post(f"/admin/templates/edit/?id={template_id}", data=template_form(link_ttl_hours=""))
    with app.app_context():
        template = db.session.get(Template, template_id)
        assert (template.link_ttl_hours, template.expire_after_view) == (None, False)


def test_a_lifetime_outside_narrowed_bounds_is_refused_on_save(app):
    with app.app_context():
        set_settings(link_ttl_min_hours=12, link_ttl_max_hours=96, link_ttl_hours=48)
    admin = signed_in_client(app, "admin")
    response = admin.post("/admin/templates/new/", data=template_form(link_ttl_hours="6", body="{{ bad"))
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "from 12 to 96 hours" in text and 'id="error-body"' in text  # both problems at once


def test_a_link_of_another_version_never_opens(ctx, client):
    message = send(make_contact(first_name="Lea"), body="x", secure=True, require_pin=False)
    assert client.get("/m/" + make_link_token(message.public_id, message.token_version + 1)).status_code != 200


def test_the_api_creates_a_template_with_its_lifetime_and_refuses_one_outside_the_bounds(app):
    api = caller(app, role="admin")
    body = {"name": "Read once", "slug": "read-once-api", "channel": "sms", "body": "Your code is ready",
            "mode": "secure"}
    too_long = api.post("/templates", json={**body, "link_ttl_hours": 9999})
    assert too_long.status_code == 422 and "link_ttl_hours" in too_long.json["error"]["fields"]
    created = api.post("/templates", json={**body, "link_ttl_hours": 12, "expire_after_view": True})
    assert created.status_code == 201, created.json
    assert (created.json["link_ttl_hours"], created.json["expire_after_view"]) == (12, True)
    listed = {t["slug"]: t for t in api.get("/templates").json["templates"]}
    assert listed["read-once-api"]["link_ttl_hours"] == 12


def test_a_read_once_message_shows_once_through_the_viewer_and_then_its_link_is_dead(ctx, client):
    contact = make_contact(first_name="Lea")
    message = send(contact, body="Your door code is 4471", secure=True, require_pin=False, expire_after_view=True)
    path = link_path(message)
    opened = client.post(path)
    assert opened.status_code == 200 and "Your door code is 4471" in opened.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Message, message.id).expires_at <= utcnow()
    fresh = ctx.test_client()  # another browser: no session, only the link
    assert fresh.get(path).status_code in (404, 410)
    assert "4471" not in fresh.post(path).get_data(as_text=True)
