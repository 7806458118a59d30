"""Declaring an API operation once: its route, who may call it, its request and response bodies.

``@operation`` registers the view on the blueprint and records an ``Operation``; the OpenAPI
document is built from those records and the app's URL map, so an undeclared route fails.
"""
from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ValidationError

from .auth import require_key
from .errors import ApiError, fields_from_pydantic

bp = Blueprint("api", __name__, url_prefix="/api/v1")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # all but tab, newline, return


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


OPERATIONS: dict[str, Operation] = {}


def operation(rule: str, method: str, *, summary: str, tag: str, status: int = 200,
              request_body: type[BaseModel] | None = None, response: type[BaseModel] | None = None,
              role: str | None = "any", errors: tuple[int, ...] = ()) -> Callable:
    """Register a view. It receives path arguments, plus ``body`` (the validated request model) when
    ``request_body`` is given, and returns an instance of ``response`` (or None for 204)."""

    def wrap(func: Callable) -> Callable:
        op = Operation(endpoint=f"{bp.name}.{func.__name__}", rule=rule, method=method.upper(), summary=summary,
                       description=inspect.getdoc(func) or "", tag=tag, status=status, request=request_body,
                       response=response, role=role, errors=errors)
        if op.endpoint in OPERATIONS:
            raise RuntimeError(f"{op.endpoint} is declared twice")
        OPERATIONS[op.endpoint] = op

        @wraps(func)
        def view(**path_args) -> Response | tuple:
            if op.role is not None:
                require_key(op.role)
            if op.request is not None:
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
    data = json_object()
    refused = {name: "must not contain control characters" for name, value in data.items()
               if _has_control_characters(value)}
    if refused:
        raise ApiError(422, "invalid", "The request is not valid: control characters are refused.", refused)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = fields_from_pydantic(exc)
        raise ApiError(422, "invalid", "The request is not valid: " + "; ".join(
            f"{name} {message}" for name, message in fields.items()) + ".", fields) from None


def _has_control_characters(value) -> bool:
    # Never meaningful in names, addresses or messages, and PostgreSQL refuses NUL in text outright.
    if isinstance(value, str):
        return bool(CONTROL_CHARACTERS.search(value))
    if isinstance(value, dict):
        return any(_has_control_characters(k) or _has_control_characters(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_control_characters(item) for item in value)
    return False


def json_object() -> dict:
    """The request body as a JSON object, whatever the Content-Type says; otherwise a 400."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise ApiError(400, "invalid_json", "The request body must be a JSON object; it is empty.")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", f"The request body must be a JSON object, not {_json_kind(data)}.")
    return data


def _json_kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return {"list": "an array", "str": "a string"}.get(type(value).__name__, type(value).__name__)
