"""What a template may build while it renders: hostile templates are refused fast, small, and on save."""
from __future__ import annotations

import time
import tracemalloc

import pytest

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.messages import MessageRequest, send_message
from messaging.models import Message, Template
from messaging.rendering.text import render_text
from seeds.factories import make_contact, make_template
from tests.support.api import assert_error, caller
from tests.support.console import signed_in_client

CONTEXT = {"first_name": "Ann", "last_name": "Lee", "org_name": "Clinic", "form": {}}
DOUBLING = ("{% set ns = namespace(a='x') %}{% for i in range(40) %}{% set ns.a = ns.a ~ ns.a %}{% endfor %}"
            "{{ ns.a|length }}")
TOO_LONG = "This template would build text longer than 20,000 characters"

HOSTILE = {
    "doubling with ~": DOUBLING,
    "doubling with +": DOUBLING.replace("ns.a ~ ns.a", "ns.a + ns.a"),
    "doubling a list": DOUBLING.replace("a='x'", "a=[1]").replace("ns.a ~ ns.a", "ns.a + ns.a"),
    "doubling with replace": DOUBLING.replace("ns.a ~ ns.a", "ns.a|replace('x', 'xx')"),
    "doubling with join": DOUBLING.replace("ns.a ~ ns.a", "[ns.a, ns.a]|join"),
    "doubling with center": DOUBLING.replace("ns.a ~ ns.a", "ns.a|center(ns.a|length * 2)"),
    "doubling with indent": DOUBLING.replace("ns.a ~ ns.a", "ns.a|indent(ns.a|length, true)"),
    "huge repetition": "{{ ('x' * 10**9)|length }}",
    "huge range": "{{ range(10**9)|length }}",
    "join of a huge range": "{{ range(1000)|join('x' * 9000)|length }}",
    "'%s' * n, replaced into itself": "{% set f = '%s' * 5000 %}{{ f|replace('%s', f)|length }}",
    "a list of one long text, printed": "{% set s = 'x' * 10000 %}{{ ([s] * 10000)|string|length }}",
    "a block filled in a loop": "{% set s = 'x' * 10000 %}{% set b %}{% for c in s %}{{ s }}{% endfor %}{% endset %}"
                                "{{ b|length }}",
    "a string method": "{{ 'x'.ljust(1000 * 1000)|length }}",
    "expanded tabs": "{{ ('\t' * 5000).expandtabs(5000)|length }}",
    "bytes repeated": "{{ ('x' * 10000).encode() * 1000 }}",
}


def _refusal(source, context=CONTEXT):
    """Render a template that must be refused; returns the message, the seconds and the peak MB it took."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ValidationFailed) as caught:
            render_text(source, context)
        return caught.value.fields["body"], time.monotonic() - started, tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_template_that_would_build_something_huge_is_refused_quickly_in_little_memory(source):
    message, seconds, peak_mb = _refusal(source)
    assert seconds < 10 and peak_mb < 20, (message, seconds, peak_mb)
    assert "would build" in message or "numbers above" in message, message


def test_the_doubling_loop_is_refused_with_the_limit_and_its_line():
    message, _seconds, _peak = _refusal("Hello\n" + DOUBLING)
    assert message == f"line 2: {TOO_LONG}"


def test_a_template_that_computes_for_too_long_is_refused_at_its_deadline():
    # Builds nothing big and prints nothing: only the deadline stops it (it took minutes before).
    source = "{% for c in 'x' * 9000 %}{% if (range(1000)|select('odd')|sum) == 0 %}x{% endif %}{% endfor %}"
    message, seconds, _peak = _refusal(source)
    assert "This template took too long to render" in message
    assert seconds < 10


def test_ordinary_templates_still_render():
    context = {**CONTEXT, "form": {"items": ["a", "b"], "appointment_date": "Tue 4 May"}}
    source = ("Hi {{ first_name ~ ' ' ~ last_name }}, {{ 'see you ' + form.appointment_date }}."
              "{% for item in form['items'] %} {{ loop.index }}/{{ loop.length }} {{ item|upper }}{% endfor %}"
              " {{ form['items']|join(', ') }} {{ 'x'|center(5) }}|{{ ('ab' * 3)|replace('b', 'c') }}")
    assert render_text(source, context) == "Hi Ann Lee, see you Tue 4 May. 1/2 A 2/2 B a, b   x  |acacac"


def test_the_console_refuses_to_save_a_template_that_builds_too_much(app):
    client = signed_in_client(app, "admin")
    data = {"name": "Bomb", "slug": "bomb", "channel": "sms", "subject": "", "body": DOUBLING, "situation": "",
            "mode": "standard", "require_pin": "inherit", "notification_text": ""}
    response = client.post("/admin/templates/new/", data=data)
    assert response.status_code == 422
    assert TOO_LONG in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(db.select(Template).filter_by(slug="bomb")).first() is None


def test_the_api_refuses_to_create_a_template_that_builds_too_much(app):
    body = {"name": "Bomb", "slug": "bomb", "channel": "sms", "body": "Hi {{ first_name }}", "mode": "secure",
            "notification_text": "{% set b %}{% for c in 'x' * 500 %}{{ 'y' * 500 }}{% endfor %}{% endset %}"
                                 "{{ b|length }} {{ link }}"}
    error = assert_error(caller(app, "admin").post("/templates", json=body), 422, "invalid", ("notification_text",))
    assert TOO_LONG in error["fields"]["notification_text"]
    with app.app_context():
        assert db.session.execute(db.select(Template).filter_by(slug="bomb")).first() is None


def test_a_send_that_would_build_too_much_from_the_contacts_form_data_fails_cleanly(app):
    # Saved, because the sample form data is short; a real contact's 1,000-character note is not.
    source = "{% set b %}{% for c in form.note %}{{ form.note }}{% endfor %}{% endset %}{{ b|length }}"
    with app.app_context():
        template = make_template(slug="note-echo", body=source, mode="standard")
        contact = make_contact(form_data={"note": "n" * 1000})
        with pytest.raises(ValidationFailed) as caught:
            send_message(MessageRequest(contact=contact, channel="sms", template=template), SYSTEM)
        db.session.rollback()
        assert TOO_LONG in caught.value.fields["body"]
        assert db.session.execute(db.select(Message).filter_by(contact_id=contact.id)).first() is None
