"""Every error of the API as JSON: ``{"error": {"code", "message", "fields"}}``."""
from __future__ import annotations

from flask import Blueprint, Flask, Response, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, default_exceptions

from messaging.attachments.errors import TooLarge, UnsupportedMedia
from messaging.db import db
from messaging.errors import Conflict, NotFound, SealedError, ValidationFailed

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
              422: "invalid", 429: "rate_limited", 500: "server_error"}


class ApiError(Exception):
    """An error the API answers directly (bad key, bad JSON...)."""

    def __init__(self, status: int, code: str, message: str, fields: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields = fields or {}
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, fields: dict | None = None,
                   headers: dict | None = None) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "fields": fields or {}}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def status_for(exc: SealedError) -> int:
    if isinstance(exc, ValidationFailed):
        return 422
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, UnsupportedMedia):
        return 415
    if isinstance(exc, TooLarge):
        return 413
    if isinstance(exc, Conflict):  # PolicyRefused is a Conflict too
        return 409
    return 400


_PYDANTIC_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "greater_than_equal": "is not a valid id",
    "less_than_equal": "is not a valid id",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "datetime_parsing": "must be an ISO 8601 date and time, e.g. 2025-01-31T14:05:00Z",
    "datetime_type": "must be an ISO 8601 date and time, e.g. 2025-01-31T14:05:00Z",
    "datetime_from_date_parsing": "must be an ISO 8601 date and time, e.g. 2025-01-31T14:05:00Z",
}


def fields_from_pydantic(exc: ValidationError) -> dict[str, str]:
    """Pydantic's errors as {field: sentence}; the first problem of each field wins."""
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        name = ".".join(str(part) for part in error["loc"]) or "body"
        if name in fields:
            continue
        if error["type"] == "value_error" and "error" in error.get("ctx", {}):
            message = str(error["ctx"]["error"])
        elif error["type"] == "literal_error":
            message = "must be one of: " + error["ctx"]["expected"].replace("'", "")
        else:
            message = _PYDANTIC_MESSAGES.get(error["type"], error["msg"])
        fields[name] = message
    return fields


def register(bp: Blueprint) -> None:
    """Handlers scoped to the API blueprint, so the console and viewer keep their HTML pages."""

    @bp.errorhandler(ApiError)
    def api_error(exc: ApiError):
        db.session.rollback()
        return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)

    @bp.errorhandler(SealedError)
    def core_error(exc: SealedError):
        # Nothing half-done reaches the database: the core commits nothing, the view commits once.
        db.session.rollback()
        return error_response(status_for(exc), exc.code, exc.message, exc.fields)

    @bp.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        db.session.rollback()
        status = exc.code or 500
        message = exc.description or exc.name
        if status == 429:
            message = f"Too many requests: the limit is {exc.description}. Try again later."
        elif status == 413:
            message = too_large_message()
        elif status >= 500:
            message = "Something went wrong on our side; nothing was saved. Try again, or contact support."
        headers = {}
        if exc.response is not None and "Retry-After" in exc.response.headers:
            headers["Retry-After"] = exc.response.headers["Retry-After"]
        return error_response(status, HTTP_CODES.get(status, "error"), message, headers=headers)

    # By code as well: Flask prefers an app-wide handler for a code (a face's 413 page) over a
    # blueprint's handler for the class, and the API answers JSON whatever other faces register.
    for code in default_exceptions:
        bp.register_error_handler(code, http_error)


def too_large_message() -> str:
    limit = request.max_content_length
    if not limit:
        return "The request body is too large."
    size = f"{limit / (1024 * 1024):g} MiB" if limit >= 1024 * 1024 else f"{limit:,} bytes"
    return f"The request body is too large: at most {size} are accepted."


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def register_app(app: Flask) -> None:
    """JSON for every error under /api/, also where no API route matched (so no blueprint handler ran)."""

    @app.after_request
    def json_errors_under_api(response: Response) -> Response:
        if response.status_code < 400 or response.is_json or not is_api_path(request.path):
            return response
        status = response.status_code
        if status == 404:
            path = request.path if request.path.isprintable() else repr(request.path)
            message = f"There is no API endpoint {request.method} {path}; see /api/v1/openapi.json."
        elif status == 413:
            message = too_large_message()
        else:
            known = default_exceptions.get(status)
            message = known.description if known is not None else "The request failed."
        answer = error_response(status, HTTP_CODES.get(status, "error"), message)
        for name in ("Allow", "Retry-After"):
            if name in response.headers:
                answer.headers[name] = response.headers[name]
        return answer
