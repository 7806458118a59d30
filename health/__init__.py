"""``GET /healthz`` for load balancers and orchestrators: is this instance able to serve?

No sign-in, no session, no CSRF, no rate limit: a probe carries no cookie and calls often. The
answer is 200 when every dependency answers and 503 otherwise, naming the one that does not. A
Redis that does not answer is 503 too, not "degraded": it holds the rate-limit counters, and
without it every rate-limited request (sign-in, the API, PIN and code posts) fails.
"""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import text

from extensions import csrf, limiter
from messaging.db import db

REDIS_TIMEOUT_SECONDS = 1.0

bp = Blueprint("health", __name__)


def _database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "cannot serve"; the log keeps the cause
        current_app.logger.warning("health check: the database does not answer", exc_info=True)
        return False
    finally:
        db.session.rollback()


def _redis_client(url: str):
    clients = current_app.extensions.setdefault("sealed.health_redis", {})
    if url not in clients:
        from redis import Redis

        clients[url] = Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                      socket_timeout=REDIS_TIMEOUT_SECONDS)
    return clients[url]


def _redis_ok(url: str) -> bool:
    try:
        return bool(_redis_client(url).ping())
    except Exception:  # noqa: BLE001 - as for the database
        current_app.logger.warning("health check: Redis does not answer", exc_info=True)
        return False


@bp.get("/healthz")
@limiter.exempt
def healthz():
    checks = {"database": _database_ok()}
    redis_url = current_app.config["REDIS_URL"]
    if redis_url:
        checks["redis"] = _redis_ok(redis_url)
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "unavailable",
            **{name: "ok" if ok else "unavailable" for name, ok in checks.items()}}
    response = jsonify(body)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)
