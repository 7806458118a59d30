"""Hostile or oversized input to the API: refused with a clear JSON error, and nothing stored."""
from __future__ import annotations

import http.client
import json
from datetime import timedelta

import pytest

from messaging.clock import utcnow
from messaging.db import db
from messaging.models import AuditEntry, Contact, Message
from seeds.factories import make_api_key
from tests.support.api import assert_error, caller


def _nested(depth: int) -> dict:
    root = node = {}
    for _ in range(depth - 1):
        node["a"] = {}
        node = node["a"]
    return root


def _counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()
                     for model in (Contact, Message, AuditEntry))


@pytest.fixture
def api(app):
    api = caller(app)
    api.contact_id = api.post("/contacts", json={"first_name": "Ann", "phone": "+14155550101"}).json["id"]
    return api


def _json(body) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


NOW = utcnow()
HOSTILE = [
    # label, method, path, body (dict → JSON, bytes → raw), status, code, field, words in the message
    ("20 MB contact", "POST", "/api/v1/contacts", {"first_name": "Big", "last_name": "x" * (20 * 1024 * 1024)},
     413, "too_large", None, "2 MiB"),
    ("100,000 tags", "POST", "/api/v1/contacts", {"first_name": "T", "tags": [f"t{i}" for i in range(100_000)]},
     422, "invalid", "tags", "at most 50 tags"),
    ("51 tags", "POST", "/api/v1/contacts", {"first_name": "T", "tags": [f"t{i}" for i in range(51)]},
     422, "invalid", "tags", "at most 50 tags"),
    ("a 65-character tag", "POST", "/api/v1/contacts", {"first_name": "T", "tags": ["x" * 65]},
     422, "invalid", "tags", "at most 64 characters"),
    ("a nested object in form data", "POST", "/api/v1/contacts", {"first_name": "F", "form_data": {"a": {"b": 1}}},
     422, "invalid", "form_data", "flat object: 'a' holds an object"),
    ("a list in form data", "POST", "/api/v1/contacts", {"first_name": "F", "form_data": {"visits": [1, 2]}},
     422, "invalid", "form_data", "'visits' holds a list"),
    ("101 form keys", "POST", "/api/v1/contacts", {"first_name": "F", "form_data": {f"k{i}": i for i in range(101)}},
     422, "invalid", "form_data", "at most 100 keys"),
    ("a 65-character form key", "POST", "/api/v1/contacts", {"first_name": "F", "form_data": {"k" * 65: 1}},
     422, "invalid", "form_data", "at most 64 characters"),
    ("1,001 characters of form text", "POST", "/api/v1/contacts",
     {"first_name": "F", "form_data": {"note": "n" * 1001}},
     422, "invalid", "form_data", "at most 1,000 characters"),
    ("17 KB of form data", "POST", "/api/v1/contacts",
     {"first_name": "F", "form_data": {f"note{i}": "n" * 1000 for i in range(17)}},
     422, "invalid", "form_data", "16 KB"),
    ("NaN in form data", "POST", "/api/v1/contacts", b'{"first_name": "F", "form_data": {"score": NaN}}',
     400, "invalid_json", None, "NaN"),
    ("a body nested 300 deep", "POST", "/api/v1/contacts", {"first_name": "Deep", "form_data": _nested(300)},
     400, "invalid_json", None, "nested too deeply"),
    ("a body nested 100,000 deep", "POST", "/api/v1/contacts",
     b'{"first_name": "Deep", "form_data": {"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}",
     400, "invalid_json", None, "nested too deeply"),
    ("a lone surrogate in a name", "POST", "/api/v1/contacts", b'{"first_name": "\\ud800"}',
     422, "invalid", "first_name", "surrogate"),
    ("a lone surrogate in a form key", "POST", "/api/v1/contacts", b'{"first_name": "S", "form_data": {"\\udfff": 1}}',
     422, "invalid", "form_data", "surrogate"),
    ("a lone surrogate in a tag", "POST", "/api/v1/contacts", b'{"first_name": "S", "tags": ["ok", "\\ud83d"]}',
     422, "invalid", "tags", "surrogate"),
    ("a NUL byte in a name", "POST", "/api/v1/contacts", b'{"first_name": "A\\u0000B"}',
     422, "invalid", "first_name", "control characters"),
    ("a NUL byte in form data", "POST", "/api/v1/contacts", b'{"first_name": "A", "form_data": {"x": "\\u0000"}}',
     422, "invalid", "form_data", "control characters"),
    ("send_at in year 9999", "POST", "/api/v1/messages", "9999-12-31T23:59:00Z", 422, "invalid", "send_at", "365 days"),
    ("send_at before year 1 in UTC", "POST", "/api/v1/messages", "0001-01-01T00:00:00+01:00",
     422, "invalid", "send_at", "365 days"),
    ("send_at two hours ago", "POST", "/api/v1/messages", (NOW - timedelta(hours=2)).isoformat() + "Z",
     422, "invalid", "send_at", "1 hour in the past"),
    ("send_at 400 days ahead", "POST", "/api/v1/messages", (NOW + timedelta(days=400)).isoformat() + "Z",
     422, "invalid", "send_at", "365 days ahead"),
    ("a lone surrogate in a message", "POST", "/api/v1/messages", b'"body": "hi \\udc00"', 422, "invalid", "body",
     "surrogate"),
    ("a newline in the path", "GET", "/api/v1/contacts/%0A", None, 404, "not_found", None, "no API endpoint"),
    ("a newline in a POST path", "POST", "/api/v1/contacts/%0A", {"first_name": "N"}, 404, "not_found", None,
     "no API endpoint"),
    ("a NUL byte in a message id", "GET", "/api/v1/messages/%00", None, 404, "not_found", None, "No message"),
    ("a NUL byte in a message to revoke", "POST", "/api/v1/messages/a%00/revoke", None, 404, "not_found", None,
     "No message"),
    ("a method the path does not take", "DELETE", "/api/v1/contacts", None, 405, "method_not_allowed", None, "method"),
    ("a path outside /api/v1", "GET", "/api/elsewhere", None, 404, "not_found", None, "no API endpoint"),
]


@pytest.mark.parametrize(("label", "method", "path", "body", "status", "code", "field", "words"), HOSTILE,
                         ids=[case[0] for case in HOSTILE])
def test_hostile_input_is_refused_with_a_json_error_and_stores_nothing(app, api, label, method, path, body,
                                                                      status, code, field, words):
    if path == "/api/v1/messages":
        base = {"contact_id": api.contact_id, "channel": "sms", "body": "Hello"}
        if isinstance(body, bytes):  # a raw JSON member added to a valid message
            body = b'{"contact_id": %d, "channel": "sms", ' % api.contact_id + body + b"}"
        else:
            body = {**base, "send_at": body}
    before = _counts(app)
    data = None if body is None else _json(body)
    response = api.client.open(path, method=method, data=data, headers={
        **api.headers(), "Content-Type": "application/json"})
    error = assert_error(response, status, code, (field,) if field else ())
    assert words in (error["fields"][field] if field else error["message"]), error
    assert set(error) == {"code", "message", "fields"}
    assert _counts(app) == before, "a refused request changed the database"


def test_the_limits_themselves_are_accepted(api):
    body = {"first_name": "Full", "tags": [f"{i:02d}" + "t" * 62 for i in range(50)],
            "form_data": {f"k{i:02d}" + "k" * 61: i for i in range(96)} | {"note": "n" * 1000, "ok": True,
                                                                            "none": None, "pi": 3.14}}
    response = api.post("/contacts", json=body)
    assert response.status_code == 201, response.json
    assert len(response.json["tags"]) == 50 and len(response.json["form_data"]) == 100
    assert response.json["form_data"]["note"] == "n" * 1000
    later = (utcnow() + timedelta(days=364)).isoformat() + "Z"
    response = api.post("/messages", json={"contact_id": api.contact_id, "channel": "sms", "body": "Hi",
                                           "send_at": later})
    assert response.status_code == 201 and response.json["status"] == "scheduled"
    just_past = (utcnow() - timedelta(minutes=30)).isoformat() + "Z"
    response = api.post("/messages", json={"contact_id": api.contact_id, "channel": "sms", "body": "Hi",
                                           "send_at": just_past})
    assert response.status_code == 201 and response.json["status"] == "queued"


def test_a_contact_stored_with_deeply_nested_form_data_still_reads(app, api):
    with app.app_context():
        contact = Contact(first_name="Legacy", last_name="", tags=[], form_data={"deep": _nested(300), "n": 1})
        db.session.add(contact)
        db.session.commit()
        contact_id = contact.id
    response = api.get(f"/contacts/{contact_id}")
    assert response.status_code == 200, response.get_data(as_text=True)
    form_data = response.json["form_data"]
    assert form_data["n"] == 1
    assert json.loads(form_data["deep"]) == _nested(300)


def test_a_chunked_body_without_content_length_is_refused_past_the_limit(live_server):
    with live_server.app.app_context():
        key = make_api_key(role="staff")
    before = _counts(live_server.app)
    conn = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=30)
    chunk = b" " * (256 * 1024)
    conn.putrequest("POST", "/api/v1/contacts")
    conn.putheader("Authorization", f"Bearer {key}")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    start = b'{"first_name": "Chunked", "last_name": "'
    try:
        conn.send(b"%x\r\n%s\r\n" % (len(start), start))
        for _ in range(12):  # 3 MiB of padding, past the 2 MiB limit
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b'2\r\n"}\r\n0\r\n\r\n')
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may answer and close before the whole body is sent
    response = conn.getresponse()
    payload = json.loads(response.read())
    conn.close()
    assert response.status == 413
    assert payload["error"]["code"] == "too_large" and "2 MiB" in payload["error"]["message"]
    assert _counts(live_server.app) == before


def test_an_unexpected_failure_under_api_answers_json_and_commits_nothing(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    def half_done():
        db.session.add(Contact(first_name="Half", last_name="", tags=[], form_data={}))
        db.session.flush()
        raise RuntimeError("a bug after a write")

    app.add_url_rule("/api/v0/half-done", view_func=half_done)
    before = _counts(app)
    response = app.test_client().get("/api/v0/half-done")
    error = assert_error(response, 500, "server_error")
    assert "a bug" not in error["message"]
    assert _counts(app) == before
