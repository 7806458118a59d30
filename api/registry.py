"""Declaring an API operation once: its route, who may call it, its request and response bodies.

``@operation`` registers the view on the blueprint and records an ``Operation``; the OpenAPI
document is built from those records and the app's URL map, so an undeclared route fails.
"""
from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import LimitedStream

from messaging.text_rules import CONTROL_CHARACTERS, SURROGATES

from .auth import require_key
from .errors import ApiError, fields_from_pydantic

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# No body of this API nests deeper than a few levels; deeper input only costs recursion further on.
MAX_JSON_DEPTH = 32


@dataclass(frozen=True)
class Operation:
    endpoint: str  # e.g. api.create_contact
    rule: str  # the path under the blueprint, Flask syntax, e.g. /contacts/<int:contact_id>
    method: str
    summary: str
    description: str
    tag: str
    status: int
    request: type[BaseModel] | None
    response: type[BaseModel] | None
    role: str | None  # None: public; "any": any key; "admin": admin keys only
    errors: tuple[int, ...]
    files_field: str | None = None  # also accepts multipart/form-data: the body's fields plus these files


OPERATIONS: dict[str, Operation] = {}


def operation(rule: str, method: str, *, summary: str, tag: str, status: int = 200,
              request_body: type[BaseModel] | None = None, response: type[BaseModel] | None = None,
              role: str | None = "any", errors: tuple[int, ...] = (),
              max_body_bytes: int | Callable[[], int | None] | None = None, files_field: str | None = None) -> Callable:
    """Register a view. It receives path arguments, plus ``body`` (the validated request model) when
    ``request_body`` is given, and returns an instance of ``response`` (or None for 204).

    ``max_body_bytes`` replaces the app's ``MAX_CONTENT_LENGTH`` for this operation (e.g. an upload);
    a larger body is answered 413 before it is read. A callable is asked per request (None: the app's).

    ``files_field`` makes the operation accept multipart/form-data as well as JSON: the request
    model's fields as form fields, and the uploads of that name passed to the view as a list
    (empty for a JSON body) under that keyword."""

    def wrap(func: Callable) -> Callable:
        op = Operation(endpoint=f"{bp.name}.{func.__name__}", rule=rule, method=method.upper(), summary=summary,
                       description=inspect.getdoc(func) or "", tag=tag, status=status, request=request_body,
                       response=response, role=role, errors=errors, files_field=files_field)
        if op.endpoint in OPERATIONS:
            raise RuntimeError(f"{op.endpoint} is declared twice")
        OPERATIONS[op.endpoint] = op

        @wraps(func)
        def view(**path_args) -> Response | tuple:
            limit = max_body_bytes() if callable(max_body_bytes) else max_body_bytes
            if limit is not None:
                request.max_content_length = limit
            if op.role is not None:
                require_key(op.role)
            if op.files_field is not None:
                path_args[op.files_field] = []
            if op.request is not None and op.files_field is not None and is_multipart():
                path_args["body"] = validate_fields(op.request, form_fields(op.files_field))
                path_args[op.files_field] = request.files.getlist(op.files_field)
            elif op.request is not None:
                path_args["body"] = parse_body(op.request)
            result = func(**path_args)
            if op.response is None:
                return "", op.status
            if not isinstance(result, op.response):
                raise TypeError(f"{op.endpoint} must return {op.response.__name__}, not {type(result).__name__}")
            response = jsonify(result.model_dump(mode="json"))
            response.status_code = op.status
            return response

        bp.add_url_rule(rule, endpoint=func.__name__, view_func=view, methods=[op.method])
        return view

    return wrap


def parse_body(model: type[BaseModel]) -> BaseModel:
    """The request body validated against ``model``; a 422 naming each bad field otherwise.

    Only input errors become 422s: a response that fails its own schema is a bug and stays a 500.
    """
    return validate_fields(model, json_object())


def is_multipart() -> bool:
    return request.mimetype == "multipart/form-data"


def form_fields(files_field: str) -> dict:
    """A multipart body's text fields (the first value of each); a field left empty counts as not given."""
    form = request.form  # parsing the body here makes an over-limit upload a 413 before anything runs
    if files_field in form:
        raise ApiError(422, "invalid", f"The request is not valid: {files_field} must be files, not text.",
                       {files_field: "must be files, not text"})
    return {name: value for name, value in form.items() if value != ""}


def validate_fields(model: type[BaseModel], data: dict) -> BaseModel:
    """``data`` validated against ``model``; a 422 naming each bad field otherwise."""
    refused = {name: problem for name, problem in ((name, _text_problem(value)) for name, value in data.items())
               if problem}
    if refused:
        raise ApiError(422, "invalid", "The request is not valid: " + "; ".join(
            f"{name} {problem}" for name, problem in refused.items()) + ".", refused)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = fields_from_pydantic(exc)
        raise ApiError(422, "invalid", "The request is not valid: " + "; ".join(
            f"{name} {message}" for name, message in fields.items()) + ".", fields) from None


def _text_problem(value) -> str | None:
    """What is wrong with the text inside one field's value (keys included), or None."""
    # Control characters are never meaningful in names, addresses or messages, and PostgreSQL
    # refuses NUL in text outright; a lone surrogate cannot be encoded for any database.
    pending = [value]
    while pending:  # iterative: json_object bounds the depth, but a loop never recurses at all
        item = pending.pop()
        if isinstance(item, str):
            if SURROGATES.search(item):
                return "must be valid Unicode text: it holds an unpaired surrogate (\\ud800-\\udfff)"
            if CONTROL_CHARACTERS.search(item):
                return "must not contain control characters"
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _depth(value) -> int:
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_JSON_DEPTH:
                break
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def json_object() -> dict:
    """The request body as a JSON object, whatever the Content-Type says; otherwise a 400."""
    raw = request.get_data(cache=True)
    if request.content_length is None and isinstance(request.stream, LimitedStream) and request.stream.is_exhausted:
        # Werkzeug stops reading a body sent without Content-Length (chunked) at MAX_CONTENT_LENGTH
        # without an error: what it read is a cut-off prefix, never the request.
        raise RequestEntityTooLarge()
    if not raw.strip():
        raise ApiError(400, "invalid_json", "The request body must be a JSON object; it is empty.")
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise ApiError(400, "invalid_json", f"The request body is nested too deeply: at most {MAX_JSON_DEPTH} "
                                            "levels of objects and arrays are accepted.") from None
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", f"The request body must be a JSON object, not {_json_kind(data)}.")
    if _depth(data) > MAX_JSON_DEPTH:
        raise ApiError(400, "invalid_json", f"The request body is nested too deeply: at most {MAX_JSON_DEPTH} "
                                            "levels of objects and arrays are accepted.")
    return data


def _json_kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return {"list": "an array", "str": "a string"}.get(type(value).__name__, type(value).__name__)
