"""The JSON API as a client meets it: an HTTP caller that speaks with a given key, and the error shape."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient

from seeds.factories import make_api_key


@dataclass
class ApiCaller:
    """A test client that sends ``Authorization: Bearer <key>`` (no header when key is None) to /api/v1."""

    app: Flask
    client: FlaskClient
    key: str | None

    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}

    def get(self, path: str, **kw):
        return self.client.get("/api/v1" + path, headers=self.headers(), **kw)

    def post(self, path: str, json=None, **kw):
        return self.client.post("/api/v1" + path, json=json, headers=self.headers(), **kw)

    def put(self, path: str, json=None, **kw):
        return self.client.put("/api/v1" + path, json=json, headers=self.headers(), **kw)


def caller(app: Flask, role: str = "staff") -> ApiCaller:
    """An API caller holding a new key with ``role``."""
    with app.app_context():
        key = make_api_key(role=role)
    return ApiCaller(app, app.test_client(), key)


def assert_error(response, status: int, code: str, fields: tuple[str, ...] = ()) -> dict:
    """The response is our JSON error with this status and code, naming at least these fields."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)
    error = response.json["error"]
    assert error["code"] == code
    assert error["message"]
    for name in fields:
        assert name in error["fields"], (name, error["fields"])
    return error
