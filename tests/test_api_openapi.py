"""The OpenAPI document: valid, complete, and true to what the API answers."""
from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from api.openapi import UNDOCUMENTED, UndocumentedRoute, build_document
from seeds.factories import make_contact
from tests.support.api import ApiCaller, caller


@pytest.fixture
def document(app):
    response = app.test_client().get("/api/v1/openapi.json")  # no key needed
    assert response.status_code == 200 and response.is_json
    return response.json


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def test_the_document_is_valid_openapi_3(document):
    assert document["openapi"].startswith("3.")
    validate(document)


def test_every_api_route_is_in_the_document(app, document):
    routes = [rule for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1") and rule.endpoint not in UNDOCUMENTED]
    assert len(routes) >= 10
    for rule in routes:
        path = _openapi_path(rule.rule)
        assert path in document["paths"], path
        for method in set(rule.methods) - {"HEAD", "OPTIONS"}:
            assert method.lower() in document["paths"][path], (method, path)


def test_a_route_without_a_declaration_fails_the_document(make_app):
    app = make_app(seed=False)
    app.add_url_rule("/api/v1/secret-backdoor", endpoint="backdoor", view_func=lambda: "")
    with pytest.raises(UndocumentedRoute, match="secret-backdoor"):
        build_document(app)


def test_bearer_keys_errors_and_three_valued_fields_are_described(document):
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "An API key, e.g. `sk_...`."}
    assert document["security"] == [{"bearer": []}]
    assert document["paths"]["/api/v1/openapi.json"]["get"]["security"] == []

    create = document["paths"]["/api/v1/messages"]["post"]
    for code in ("201", "400", "401", "409", "422", "429"):
        assert code in create["responses"], code
    assert "403" in document["paths"]["/api/v1/templates"]["post"]["responses"]
    assert "404" in document["paths"]["/api/v1/messages/{message_id}"]["get"]["responses"]
    assert document["paths"]["/api/v1/contacts/{contact_id}/pin"]["put"]["responses"]["204"]

    schemas = document["components"]["schemas"]
    error = schemas["ErrorDetail"]["properties"]
    assert {"code", "message", "fields"} <= set(error)
    secure = schemas["MessageIn"]["properties"]["secure"]
    kinds = [option.get("type") for option in secure["anyOf"]]
    assert kinds == ["boolean", "null", "string"]
    assert secure["anyOf"][2]["enum"] == ["true", "false", "inherit"]
    assert "require_pin" in schemas["MessageIn"]["properties"]
    assert schemas["TemplateIn"]["properties"]["mode"]["enum"] == ["inherit", "secure", "standard"]
    assert "pin" not in schemas["ContactOut"]["properties"]


def _validator(document, name):
    root = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return Draft202012Validator(root)


def test_real_answers_match_the_documented_schemas(app, document):
    with app.app_context():
        contact_id = make_contact(first_name="Ann").id
    api = caller(app, "admin")
    answers = {
        "ContactOut": api.get(f"/contacts/{contact_id}").json,
        "MessageOut": api.post("/messages", json={"contact_id": contact_id, "channel": "sms", "body": "Hi"}).json,
        "PreviewOut": api.post("/messages/preview", json={"contact_id": contact_id, "channel": "sms",
                                                          "body": "Hi"}).json,
        "ThreadOut": api.get(f"/contacts/{contact_id}/thread").json,
        "TemplateListOut": api.get("/templates").json,
        "ErrorOut": ApiCaller(app, app.test_client(), None).get("/templates").json,
    }
    for name, answer in answers.items():
        errors = list(_validator(document, name).iter_errors(answer))
        assert errors == [], (name, [e.message for e in errors])
    # And the check would catch a wrong answer.
    assert list(_validator(document, "MessageOut").iter_errors({**answers["MessageOut"], "status": "lost"}))
