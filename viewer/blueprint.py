"""The viewer's blueprint and what every one of its responses shares: headers and rate limits."""
from __future__ import annotations

import hashlib

from flask import Blueprint, Response, current_app, g, request
from flask_limiter.util import get_remote_address

from extensions import limiter

from .security import apply_security_headers

URL_PREFIX = "/m"
bp = Blueprint("viewer", __name__, url_prefix=URL_PREFIX, template_folder="templates",
               static_folder="static", static_url_path="/_/static")


@bp.after_app_request
def _viewer_headers(response: Response) -> Response:
    # One hook for every response under /m/, including routing errors (404/405) that never reach
    # the blueprint, so no viewer page can go out without its headers.
    if request.blueprint == bp.name or request.path == URL_PREFIX or request.path.startswith(URL_PREFIX + "/"):
        apply_security_headers(response)
    return response


def _post_limit() -> str:
    return current_app.config["VIEWER_POST_LIMIT"]


def _ip_and_token() -> str:
    token = (request.view_args or {}).get("token", "")
    return f"{get_remote_address()}|{hashlib.sha256(token.encode()).hexdigest()[:32]}"


# Every POST that checks a secret or costs a send shares one budget per IP and link, on top of
# the per-message attempt counter kept in the database.
post_limit = limiter.shared_limit(_post_limit, scope="viewer-post", key_func=_ip_and_token, methods=["POST"])


def _verify_limit() -> str:
    return current_app.config["VIEWER_VERIFY_LIMIT"]


def _checked_a_secret(_response: Response) -> bool:
    return bool(g.get("checked_a_secret"))


# PINs and codes checked per client address across every link: one address cannot spread its
# guesses over many links. Only requests that really checked a secret are counted.
verify_limit = limiter.shared_limit(_verify_limit, scope="viewer-verify", key_func=get_remote_address,
                                    methods=["POST"], deduct_when=_checked_a_secret)
