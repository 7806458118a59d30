"""API keys, roles, rate limits and the shape of every error."""
from __future__ import annotations

from messaging.clock import utcnow
from messaging.db import db
from messaging.models import ApiKey
from tests.support.api import ApiCaller, assert_error, caller


def test_a_call_without_a_key_is_refused_with_a_json_401(app):
    anonymous = ApiCaller(app, app.test_client(), None)
    response = anonymous.get("/templates")
    error = assert_error(response, 401, "unauthorized")
    assert "Bearer" in error["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_made_up_key_is_refused(app):
    for bad in ("sk_not-a-real-key", "nonsense", "x"):
        response = ApiCaller(app, app.test_client(), bad).get("/templates")
        assert_error(response, 401, "unauthorized")
    response = app.test_client().get("/api/v1/templates", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_error(response, 401, "unauthorized")


def test_a_revoked_key_stops_working_at_once(app):
    api = caller(app, "admin")
    assert api.get("/templates").status_code == 200
    with app.app_context():
        key = db.session.execute(db.select(ApiKey)).scalar_one()
        key.revoked_at = utcnow()
        db.session.commit()
    assert_error(api.get("/templates"), 401, "unauthorized")


def test_a_staff_key_cannot_create_templates(app):
    staff = caller(app, "staff")
    response = staff.post("/templates", json={"name": "X", "slug": "x", "channel": "sms", "body": "Hi"})
    assert_error(response, 403, "forbidden")
    assert staff.get("/templates").status_code == 200


def test_using_a_key_records_when_it_was_last_used(app):
    api = caller(app)
    with app.app_context():
        assert db.session.execute(db.select(ApiKey)).scalar_one().last_used_at is None
    api.get("/templates")
    with app.app_context():
        assert db.session.execute(db.select(ApiKey)).scalar_one().last_used_at is not None


def test_each_key_has_its_own_rate_limit(make_app):
    app = make_app(API_RATE_LIMIT="3/minute")
    first, second = caller(app), caller(app)
    for _ in range(3):
        assert first.get("/templates").status_code == 200
    limited = first.get("/templates")
    assert_error(limited, 429, "rate_limited")
    assert "Retry-After" in limited.headers
    assert first.get("/contacts/1").status_code == 429  # one budget across all endpoints
    assert second.get("/templates").status_code == 200


def test_guessing_keys_is_rate_limited_by_address(make_app):
    app = make_app(API_RATE_LIMIT="2/minute")
    for attempt in range(2):
        assert ApiCaller(app, app.test_client(), f"sk_guess{attempt}").get("/templates").status_code == 401
    assert_error(ApiCaller(app, app.test_client(), "sk_guess9").get("/templates"), 429, "rate_limited")


def test_a_body_that_is_not_a_json_object_gets_a_clear_400(app):
    api = caller(app)
    cases = [("not json", "not valid JSON"), ("[1, 2]", "not an array"), ("", "empty"), ("null", "not null")]
    for raw, words in cases:
        response = api.client.post("/api/v1/contacts", data=raw, headers={**api.headers(),
                                                                          "Content-Type": "application/json"})
        error = assert_error(response, 400, "invalid_json")
        assert words in error["message"], error["message"]


def test_unknown_paths_and_methods_answer_json(app):
    api = caller(app)
    assert_error(api.get("/nothing-here"), 404, "not_found")
    assert_error(api.get("/messages"), 405, "method_not_allowed")  # only POST exists


def test_the_api_needs_no_csrf_token(csrf_app):
    api = caller(csrf_app)
    response = api.post("/contacts", json={"first_name": "Ann"})
    assert response.status_code == 201, response.get_data(as_text=True)
