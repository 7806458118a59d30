"""The OpenAPI 3.1 document, built from the app's URL map and the declared operations.

Every route under /api/v1 must have been declared with ``@operation``; one that was not makes
``build_document`` raise, so an undocumented endpoint cannot ship.
"""
from __future__ import annotations

import re

from flask import Flask, current_app
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .registry import OPERATIONS, Operation, operation
from .schemas import ErrorOut, OpenApiDocumentOut

# The fallback that turns unknown API paths into JSON errors is not an operation of its own.
UNDOCUMENTED = {"api.unknown_endpoint"}
PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"

ERROR_RESPONSES = {
    400: ("BadRequest", "The body is not a JSON object."),
    401: ("Unauthorized", "No API key, or one that is not valid or has been revoked."),
    403: ("Forbidden", "The operation needs an admin key."),
    404: ("NotFound", "No such record."),
    413: ("TooLarge", "The body, or one uploaded file, is over its limit (`too_large`)."),
    415: ("UnsupportedMedia", "An uploaded file's content is not an accepted type (`unsupported_media_type`)."),
    409: ("Conflict", "Refused in the current state: `portal_disabled` (secure messages need the client "
                      "portal), `blocked_by_policy` (recommendation policy `block`), `not_revocable`, "
                      "`not_reissuable`, `invalid_state` (a broadcast or campaign move its status does not allow)."),
    422: ("Invalid", "Invalid input; `error.fields` says what is wrong with each field."),
    429: ("RateLimited", "Too many requests for this key (or address)."),
}
_PATH_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


class UndocumentedRoute(RuntimeError):
    pass


def api_rules(app: Flask) -> list:
    return [rule for rule in app.url_map.iter_rules()
            if rule.rule.startswith(PREFIX) and rule.endpoint not in UNDOCUMENTED]


def _openapi_path(rule: str) -> tuple[str, list[dict]]:
    parameters = []

    def replace(match: re.Match) -> str:
        kind = "integer" if match["converter"] == "int" else "string"
        parameters.append({"name": match["name"], "in": "path", "required": True, "schema": {"type": kind}})
        return "{" + match["name"] + "}"

    return _PATH_ARGUMENT.sub(replace, rule), parameters


def _schemas(operations: list[Operation]) -> tuple[dict, dict]:
    inputs = {op.request for op in operations if op.request is not None}
    outputs = {op.response for op in operations if op.response is not None} | {ErrorOut}
    pairs = [(model, "validation") for model in sorted(inputs, key=lambda m: m.__name__)]
    pairs += [(model, "serialization") for model in sorted(outputs, key=lambda m: m.__name__)]
    refs, definitions = models_json_schema(pairs, ref_template=REF)
    return refs, definitions.get("$defs", {})


def _json_content(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _multipart_content(op: Operation, refs: dict, definitions: dict) -> dict:
    """The request model's own fields as form fields, plus the uploads: one schema, so a validator sees both."""
    model = definitions[refs[(op.request, "validation")]["$ref"].rsplit("/", 1)[-1]]
    properties = {**model.get("properties", {}), op.files_field: {
        "type": "array", "description": "One or more files, each a part of this name; typed by content.",
        "items": {"type": "string", "contentMediaType": "application/octet-stream"}}}
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if model.get("required"):
        schema["required"] = model["required"]
    return {"multipart/form-data": {"schema": schema}}


def _operation_object(op: Operation, parameters: list[dict], refs: dict, definitions: dict) -> dict:
    responses: dict[str, dict] = {}
    if op.response is None:
        responses[str(op.status)] = {"description": "Done; no content."}
    else:
        model: type[BaseModel] = op.response
        responses[str(op.status)] = {"description": (model.__doc__ or op.summary).strip().splitlines()[0],
                                     "content": _json_content(refs[(model, "serialization")])}
    codes = set(op.errors) | {429}
    if op.request is not None:
        codes |= {400, 422}
    if op.role is not None:
        codes.add(401)
    if op.role == "admin":
        codes.add(403)
    for code in sorted(codes):
        responses[str(code)] = {"$ref": f"#/components/responses/{ERROR_RESPONSES[code][0]}"}
    document = {"operationId": op.endpoint.split(".", 1)[1], "summary": op.summary, "description": op.description,
                "tags": [op.tag], "responses": responses}
    if parameters:
        document["parameters"] = parameters
    if op.request is not None:
        content = _json_content(refs[(op.request, "validation")])
        if op.files_field is not None:
            content.update(_multipart_content(op, refs, definitions))
        document["requestBody"] = {"required": True, "content": content}
    if op.role is None:
        document["security"] = []
    elif op.role == "admin":
        document["description"] = (document["description"] + "\n\nNeeds an admin key.").strip()
    return document


def build_document(app: Flask) -> dict:
    """The whole document. Raises UndocumentedRoute for a route under /api/v1 with no declaration."""
    found: list[tuple[Operation, object]] = []
    for rule in api_rules(app):
        op = OPERATIONS.get(rule.endpoint)
        if op is None:
            raise UndocumentedRoute(f"{rule.rule} ({rule.endpoint}) has no @operation declaration")
        methods = set(rule.methods or ()) - {"HEAD", "OPTIONS"}
        if methods != {op.method}:
            raise UndocumentedRoute(f"{rule.rule} answers {sorted(methods)} but is declared {op.method}")
        found.append((op, rule))
    refs, definitions = _schemas([op for op, _ in found])

    paths: dict[str, dict] = {}
    for op, rule in sorted(found, key=lambda pair: pair[1].rule):
        path, parameters = _openapi_path(rule.rule)
        paths.setdefault(path, {})[op.method.lower()] = _operation_object(op, parameters, refs, definitions)

    error_ref = refs[(ErrorOut, "serialization")]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sealed API",
            "version": "1",
            "description": "Create contacts, send messages standard or secure, and read their status and view "
                           "events. Authenticate with `Authorization: Bearer <key>` (keys come from "
                           "`flask --app wsgi api-keys create NAME --role admin|staff`). Errors are "
                           "`{\"error\": {\"code\", \"message\", \"fields\"}}`. Times are ISO 8601 UTC with 'Z'. "
                           "Three-valued fields (`secure`, `require_pin`) take true, false, or null/\"inherit\" "
                           "to let the template or global default decide.",
        },
        "servers": [{"url": app.config["PUBLIC_BASE_URL"]}],
        "tags": [{"name": "contacts"}, {"name": "messages"}, {"name": "templates"}, {"name": "segments"},
                 {"name": "broadcasts"}, {"name": "campaigns"}, {"name": "webhooks"}, {"name": "meta"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": definitions,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "An API key, e.g. `sk_...`."}},
            "responses": {name: {"description": description, "content": _json_content(error_ref)}
                          for name, description in ERROR_RESPONSES.values()},
        },
    }


def document_for(app: Flask) -> dict:
    """Built once per app: the routes do not change after start."""
    cached = app.extensions.get("sealed.openapi")
    if cached is None:
        cached = app.extensions["sealed.openapi"] = build_document(app)
    return cached


@operation("/openapi.json", "GET", summary="This document", tag="meta", response=OpenApiDocumentOut, role=None)
def openapi_document() -> OpenApiDocumentOut:
    """The OpenAPI 3.1 document of API v1, generated from the code. No key needed."""
    return OpenApiDocumentOut.model_validate(document_for(current_app._get_current_object()))
