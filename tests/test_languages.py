"""The client's languages: the Spanish catalog is complete and what a Spanish-speaking contact
receives — the SMS and e-mail notice, a renotice, a call, a one-time code — is in Spanish, while an
English-speaking contact's stays English. The organisation's own notice text per language applies,
and a template's own notification text wins over it."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from xml.etree import ElementTree

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from messaging.clock import utcnow
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.renotify import schedule_renotices
from messaging.delivery.transports.outbox import read_outbox
from messaging.messages import MessageRequest, preview_message
from messaging.settings import get_settings
from seeds.factories import make_contact, make_template
from tests.support.messages import send

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
SPANISH = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}
LINK = re.compile(r"https?://\S+/m/\S+")


def _catalog(path: Path):
    with path.open("rb") as handle:
        return read_po(handle, locale="es")


def _pairs(catalog) -> dict:
    def flat(value):
        return value if isinstance(value, str) else tuple(value)
    return {flat(m.id): flat(m.string) for m in catalog if m.id}


def _source_msgids() -> set:
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_msgid_in_the_catalog_has_a_spanish_translation():
    catalog = _catalog(SPANISH)
    untranslated = []
    for message in catalog:
        if not message.id:
            continue
        forms = [message.string] if isinstance(message.string, str) else list(message.string)
        if message.fuzzy or not all(form.strip() for form in forms):
            untranslated.append(message.id)
    assert not untranslated, f"msgids without a Spanish translation: {untranslated}"
    problems = [(message.id, [str(e) for e in errors]) for message, errors in catalog.check()]
    assert not problems, f"translations whose placeholders do not match: {problems}"


def test_every_string_a_client_reads_is_in_the_spanish_catalog():
    # A string wrapped in _() after the last `make translations` would show in English to a Spanish reader.
    in_catalog = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog(SPANISH) if m.id}
    missing = sorted(_source_msgids() - in_catalog)
    assert not missing, f"run `make translations` and translate: {missing}"


def test_the_compiled_catalog_is_built_from_the_current_one():
    compiled = SPANISH.with_suffix(".mo")
    assert compiled.exists(), "run `make setup`: it compiles the catalogs"
    with compiled.open("rb") as handle:
        built = _pairs(read_mo(handle))
    current = _pairs(_catalog(SPANISH))
    assert built == current, "the compiled catalog is out of date: run `make setup`"


def _dispatch(now=None) -> None:
    for _ in range(3):  # a secure call queues its link SMS for the next pass
        if not dispatch_once(now=now).claimed:
            return


def test_a_spanish_speaking_contact_gets_the_sms_notice_in_spanish_and_an_english_one_in_english(ctx):
    ana = make_contact(first_name="Ana", language="es")
    ada = make_contact(first_name="Ada", language="en")
    send(ana, channel="sms", body="Resultado de la biopsia", secure=True)
    send(ada, channel="sms", body="Your biopsy result", secure=True)
    _dispatch()
    [spanish] = read_outbox(ana.phone)
    [english] = read_outbox(ada.phone)
    assert LINK.sub("LINK", spanish["body"]) == "Sealed demo clinic: tiene un mensaje seguro nuevo. Ábralo aquí: LINK"
    assert LINK.sub("LINK", english["body"]) == "Sealed demo clinic: you have a new secure message. Open: LINK"
    assert "biopsia" not in spanish["body"]


def test_the_email_notice_subject_text_and_html_are_in_the_contacts_language(ctx):
    ana = make_contact(first_name="Ana", language="es")
    ada = make_contact(first_name="Ada", language="en")
    send(ana, channel="email", subject="Cita", body="Su cita", secure=True)
    send(ada, channel="email", subject="Visit", body="Your visit", secure=True)
    _dispatch()
    [spanish] = read_outbox(ana.email)
    [english] = read_outbox(ada.email)
    assert spanish["subject"] == "Un mensaje seguro de Sealed demo clinic"
    assert "tiene un mensaje seguro nuevo" in spanish["body"]
    assert '<html lang="es">' in spanish["html"] and "tiene un mensaje seguro nuevo" in spanish["html"]
    assert english["subject"] == "A secure message from Sealed demo clinic"
    assert '<html lang="en">' in english["html"] and "you have a new secure message" in english["html"]


def test_a_renotice_and_a_call_speak_the_contacts_language(ctx):
    get_settings().renotify_hours = "24"
    ana = make_contact(first_name="Ana", language="es")
    send(ana, channel="voice", body="Resultado", secure=True)
    start = utcnow()
    _dispatch(now=start)
    records = read_outbox(ana.phone)
    [call] = [r for r in records if r["channel"] == "voice"]
    assert call["speak"].startswith("Hola, Ana. Le llamamos de Sealed demo clinic. Tiene un mensaje seguro nuevo.")
    assert [r for r in records if r["channel"] == "sms"][0]["body"].startswith("Sealed demo clinic: tiene un")
    later = start + timedelta(hours=24)
    assert schedule_renotices(now=later).queued == 1
    _dispatch(now=later)
    renotice = read_outbox(ana.phone)[-1]
    assert renotice["channel"] == "sms" and "tiene un mensaje seguro nuevo" in renotice["body"]


def test_the_organisations_notice_text_per_language_applies_and_a_templates_own_text_wins(ctx):
    settings = get_settings()
    settings.notice_text_es = "{{ org_name }} le escribe, {{ first_name }}: {{ link }}"
    settings.notice_text_en = "{{ org_name }} writes to you, {{ first_name }}: {{ link }}"
    db.session.commit()
    ana = make_contact(first_name="Ana", language="es")
    ada = make_contact(first_name="Ada", language="en")
    eva = make_contact(first_name="Eva", language="es")
    template = make_template(channel="sms", body="Cuerpo", notification_text="Plantilla {{ first_name }}: {{ link }}")
    send(ana, channel="sms", body="Uno", secure=True)
    send(ada, channel="sms", body="Two", secure=True)
    send(eva, channel="sms", template=template, secure=True)
    _dispatch()
    assert LINK.sub("LINK", read_outbox(ana.phone)[0]["body"]) == "Sealed demo clinic le escribe, Ana: LINK"
    assert LINK.sub("LINK", read_outbox(ada.phone)[0]["body"]) == "Sealed demo clinic writes to you, Ada: LINK"
    assert LINK.sub("LINK", read_outbox(eva.phone)[0]["body"]) == "Plantilla Eva: LINK"


def test_a_broken_organisation_notice_text_falls_back_to_the_built_in_one(ctx):
    get_settings().notice_text_es = "{{ org_name }} {{ last_name }}: {{ link }}"  # not a notice field
    db.session.commit()
    ana = make_contact(first_name="Ana", language="es")
    send(ana, channel="sms", body="Uno", secure=True)
    _dispatch()
    assert "tiene un mensaje seguro nuevo" in read_outbox(ana.phone)[0]["body"]


def test_the_compose_preview_shows_the_notice_in_the_contacts_language(ctx):
    ana = make_contact(first_name="Ana", language="es")
    preview = preview_message(MessageRequest(contact=ana, channel="email", subject="Cita", body="Su cita",
                                             secure=True))
    assert preview.subject == "Un mensaje seguro de Sealed demo clinic"
    assert "tiene un mensaje seguro nuevo" in preview.client_text


def test_a_call_through_twilio_says_the_spanish_notice_with_a_spanish_voice(twilio_app, fake):
    with twilio_app.app_context():
        send(make_contact(first_name="Ana", language="es"), channel="voice", body="Resultado", secure=True)
        send(make_contact(first_name="Ada", language="en"), channel="voice", body="Result", secure=True)
        _dispatch()
    says = {say.text.split(".")[0]: say.get("language")
            for say in (ElementTree.fromstring(call.form["Twiml"]).find("Say") for call in fake.state.calls())}
    assert says == {"Hola, Ana": "es-ES", "Hello Ada": None}
