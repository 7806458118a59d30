"""Client pages and one-time codes in the contact's language; the console stays English."""
from __future__ import annotations

import re

from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.transports.outbox import read_outbox
from messaging.settings import SETTING_SPECS, get_settings, settings_as_dict
from seeds.factories import make_contact
from tests.support.console import signed_in_client
from tests.support.messages import link_path, send
from tests.support.viewer import past_pin_choice

SPANISH_CODE = re.compile(r"^Sealed demo clinic: su código es (\d{6})\. Vence en 10 minutos\.$")


def _message(contact, channel="sms"):
    message = send(contact, channel=channel, body="Resultado de la prueba RX-5521", secure=True, require_pin=True)
    dispatch_once()
    return message, link_path(message)


def test_a_spanish_speaking_contact_sees_the_landing_page_in_spanish_with_lang_es(ctx, client):
    ana = make_contact(first_name="Ana", language="es")
    _message_, path = _message(ana)
    page = client.get(path).get_data(as_text=True)
    assert '<html lang="es"' in page
    assert "Un mensaje seguro de Sealed demo clinic" in page
    assert "nunca le pedirá una contraseña, un número de tarjeta ni un pago en esta página" in page
    assert "Enviarme un código" in page and "Send me a code" not in page


def test_an_english_speaking_contact_sees_the_landing_page_in_english_with_lang_en(ctx, client):
    ada = make_contact(first_name="Ada", language="en")
    _message_, path = _message(ada)
    page = client.get(path).get_data(as_text=True)
    assert '<html lang="en"' in page
    assert "A secure message from Sealed demo clinic" in page and "Send me a code" in page


def test_a_spanish_speaking_contact_gets_the_code_and_the_message_in_spanish(ctx, client):
    ana = make_contact(first_name="Ana", language="es")  # no PIN: a one-time code by e-mail
    _message_, path = _message(ana, channel="sms")
    sent = client.post(f"{path}/code").get_data(as_text=True)
    assert "Enviamos un código de 6 dígitos por correo electrónico" in sent
    dispatch_once()
    row = read_outbox(ana.email)[-1]
    assert row["subject"] == "Su código de Sealed demo clinic"
    code = SPANISH_CODE.match(row["body"])
    assert code, row["body"]
    asked = client.post(path, data={"code": code.group(1)})
    assert '<html lang="es"' in asked.get_data(as_text=True) and "Elija su PIN" in asked.get_data(as_text=True)
    opened = past_pin_choice(client, path, asked)
    page = opened.get_data(as_text=True)
    assert opened.status_code == 200 and '<html lang="es"' in page
    assert "RX-5521" in page and "Cerrar sesión" in page


def test_an_english_speaking_contact_gets_the_code_in_english(ctx, client):
    ada = make_contact(first_name="Ada", language="en")
    _message_, path = _message(ada, channel="sms")
    client.post(f"{path}/code")
    dispatch_once()
    row = read_outbox(ada.email)[-1]
    assert row["subject"] == "Your code from Sealed demo clinic"
    assert re.match(r"^Sealed demo clinic: your code is \d{6}\. It expires in 10 minutes\.$", row["body"])


def test_the_neutral_not_found_page_is_english_and_the_console_stays_english(app, client):
    page = client.get("/m/not-a-real-token").get_data(as_text=True)
    assert '<html lang="en"' in page
    console = signed_in_client(app)
    settings = console.get("/admin/settings/").get_data(as_text=True)
    assert "Notice text (English)" in settings and "Notice text (Spanish)" in settings
    assert "a template&#39;s own notification text wins" in settings or "own notification text wins" in settings


MONTHS_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
             "noviembre", "diciembre")


def test_wrong_pins_and_the_lock_are_told_in_spanish_with_the_date_in_spanish(ctx, client):
    ana = make_contact(first_name="Ana", language="es", pin="2468")
    message = send(ana, channel="sms", body="Resultado", secure=True)
    path = link_path(message)
    pages = [client.post(path, data={"pin": "1357"}) for _ in range(5)]
    assert [p.status_code for p in pages] == [403, 403, 403, 403, 423]
    assert "Ese PIN no es correcto. Le queda 1 intento" in pages[3].get_data(as_text=True)
    locked = pages[4].get_data(as_text=True)
    db.session.refresh(message)
    until = message.locked_until
    assert '<html lang="es"' in locked and "Este mensaje está bloqueado" in locked
    assert f"{until:%H:%M} UTC del {until.day} de {MONTHS_ES[until.month - 1]} de {until.year}" in locked


def _settings_form(app, **changes) -> dict:
    with app.app_context():
        values = settings_as_dict()
    data = {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in values.items()
            if k in SETTING_SPECS}
    return {**data, **changes}


def test_the_settings_page_saves_a_notice_text_per_language_and_refuses_a_broken_one(app):
    admin = signed_in_client(app)
    spanish = "{{ org_name }}: {{ first_name }}, tiene un mensaje: {{ link }}"
    assert admin.post("/admin/settings/", data=_settings_form(app, notice_text_es=spanish)).status_code == 302
    refused = admin.post("/admin/settings/", data=_settings_form(app, notice_text_en="{{ org_name }} {{ form.x }}"))
    assert refused.status_code == 422 and "unknown field: form" in refused.get_data(as_text=True)
    with app.app_context():
        settings = get_settings()
        assert (settings.notice_text_es, settings.notice_text_en) == (spanish, "")
