"""The application factory: configuration, extensions, and each face's init_app — wiring only."""
from __future__ import annotations

from flask import Flask

import api
import cli
import console
import health
import hooks
import viewer
from config import load_config
from extensions import babel, csrf, db, limiter, login_manager, migrate
from messaging.db import install_sqlite_pragmas
from messaging.delivery.scheduler import init_scheduler
from messaging.people import search_index  # noqa: F401  (its flush listener keeps the tag and field index)
from messaging.security.crypto import Keyring
from messaging.security.passwords import make_hasher
from viewer.language import client_language


def create_app(config: dict | None = None) -> Flask:
    """The app, configured from the environment with ``config`` (a test's) winning over it."""
    app = Flask(__name__, instance_relative_config=True)
    _load_dotenv(config)
    # The passed config is merged inside load_config, so derived values (rate-limit storage, engine
    # options) follow it and a test's config never makes load_config touch instance/.
    app.config.update(load_config(app.instance_path, overrides=config))
    init_proxy_fix(app)
    init_extensions(app)
    console.init_app(app)
    viewer.init_app(app)
    api.init_app(app)
    hooks.init_app(app)
    health.init_app(app)
    cli.init_app(app)
    init_scheduler(app)
    return app


def _load_dotenv(config: dict | None) -> None:
    # Tests pass their config explicitly and must not pick up a developer's .env.
    if config and config.get("TESTING"):
        return
    from dotenv import load_dotenv

    load_dotenv(override=False)


def init_proxy_fix(app: Flask) -> None:
    """Trust X-Forwarded-For/-Proto/-Host from ``PROXY_FIX`` proxies, so limits see real client addresses.

    Off by default: without a proxy in front, those headers come from the client and would let
    anyone pick the address their attempts are counted under.
    """
    hops = int(app.config["PROXY_FIX"])
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def init_extensions(app: Flask) -> None:
    install_sqlite_pragmas()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(_root() / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=client_language,
                   default_translation_directories=str(_root() / "translations"))
    app.extensions["sealed.keyring"] = Keyring(app.config["ENCRYPTION_KEYS"], app.config["SECRET_KEY"])
    app.extensions["sealed.hasher"] = make_hasher(app.config["ARGON2_PARAMS"])


def _root():
    from pathlib import Path

    return Path(__file__).resolve().parent
