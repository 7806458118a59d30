"""A client who still reaches the secure thread (a newer message's link) sees where destroyed content was."""
from __future__ import annotations

import html
from datetime import timedelta

from messaging.audit import SYSTEM
from messaging.client.sessions import start_session
from messaging.db import db
from messaging.models import Attachment, Message
from messaging.retention import run_retention
from seeds.factories import make_contact
from tests.support.messages import link_path, send
from tests.support.retention import secure_scene, set_settings
from viewer.session_cookie import COOKIE_NAME


def _thread_after_retention(ctx, client, clock, language: str) -> tuple[str, object]:
    clock.ahead()
    set_settings(retention_days=5)
    contact = make_contact(first_name="Iris", pin="2468", language=language)
    scene = secure_scene(contact, body="Scan: all clear")
    due = clock.at(scene.message.expires_at + timedelta(days=5))
    assert run_retention(SYSTEM).messages == 2
    live = send(contact, body="Your next appointment", secure=True, require_pin=True)
    raw, _ = start_session(contact, live, "203.0.113.9")
    db.session.commit()
    client.set_cookie(COOKIE_NAME, raw, path="/m/")
    response = client.get(link_path(live))
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True)), due


def test_the_clients_thread_shows_a_destroyed_reply_as_destroyed_and_keeps_the_live_message(ctx, client, clock):
    page, due = _thread_after_retention(ctx, client, clock, "en")
    assert f"Content destroyed by retention on {due.day} {due:%B %Y}" in page
    assert 'data-item-state="destroyed"' in page
    assert "Scan: all clear" not in page and "Thank you, I read it" not in page and "scan.pdf" not in page
    assert "Your next appointment" in page


def test_a_destroyed_file_cannot_be_downloaded_from_the_thread(ctx, client, clock):
    _thread_after_retention(ctx, client, clock, "en")
    live = db.session.scalars(db.select(Message).filter_by(direction="out").order_by(Message.id.desc())).first()
    for attachment in db.session.scalars(db.select(Attachment).where(Attachment.message_id != live.id)):
        response = client.get(f"{link_path(live)}/a/{attachment.public_id}")
        assert response.status_code == 410 and attachment.filename not in response.get_data(as_text=True)


def test_a_spanish_speaking_client_reads_it_in_spanish(ctx, client, clock):
    page, _ = _thread_after_retention(ctx, client, clock, "es")
    assert "Contenido destruido al terminar su plazo de conservación el" in page
