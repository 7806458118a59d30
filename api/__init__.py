"""The API face: JSON at /api/v1 with bearer keys, and its OpenAPI document.

Views are thin: they validate the body against its declared schema, call messaging/, commit once,
and shape the answer with the declared response schema.
"""
from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.exceptions import MethodNotAllowed, NotFound

from extensions import csrf, limiter

from . import (  # noqa: F401 - importing registers the operations
    broadcasts,
    campaigns,
    contact_bulk,
    contacts,
    errors,
    message_links,
    messages,
    openapi,
    segments,
    templates,
    webhooks,
)
from .auth import rate_limit_key
from .registry import bp

errors.register(bp)


@bp.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown_endpoint(path: str):
    # Without this, paths under /api/v1 that match no route would get the app's HTML 404/405 pages.
    adapter = current_app.url_map.bind("localhost")
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        try:
            endpoint, _ = adapter.match(request.path, method=method)
        except (NotFound, MethodNotAllowed):
            continue
        if endpoint != "api.unknown_endpoint":
            raise MethodNotAllowed()
    raise NotFound(f"There is no API endpoint {request.method} {request.path}; see /api/v1/openapi.json.")


def _rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


# One budget per key across all endpoints (or per address for calls without a valid key).
limiter.shared_limit(_rate_limit, scope="api_v1", key_func=rate_limit_key)(bp)


def init_app(app: Flask) -> None:
    # Bearer keys are not sent automatically by browsers, so CSRF tokens protect nothing here.
    csrf.exempt(bp)
    app.register_blueprint(bp)
    errors.register_app(app)
