"""The console: login, Flask-Admin views for records, and the staff pages (compose, conversations).

The Admin object is built inside init_app: a module-level one would re-register its blueprints
when a second app is created in the same process (tests).
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, redirect, url_for
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from . import (
    account,
    api_keys,
    attachments,
    audit_log,
    auth,
    broadcasts,
    campaigns,
    compose,
    contacts,
    conversations,
    deliveries,
    formatting,
    imports,
    matrix,
    messages,
    privacy,
    read_logs,
    security,
    segments,
    settings_views,
    template_views,
    users,
    webhooks,
)
from .base import HomeView, init_input_guards

# One module per area of the console, each with register(admin). Flask-Admin builds the menu in the
# order views are added, so this is the menu: the daily work first (Conversations, Compose, Contacts,
# Segments, Imports, Broadcasts, Campaigns, Messages), then what shapes it (Templates, Recommendation
# matrix, Deliveries), Admin last.
# The account page is reached from the menu bar, not the menu.
AREAS = (conversations, compose, contacts, segments, imports, broadcasts, campaigns, messages, template_views, matrix,
         deliveries, users, api_keys, webhooks, settings_views, audit_log, account, attachments,
         read_logs, privacy)
STATIC_FOLDER = Path(__file__).resolve().parent / "static"


def init_app(app: Flask) -> None:
    auth.init_app(app)
    security.init_app(app)
    formatting.init_app(app)
    # admin/console_base.html adds the console's stylesheet and the signed-in user with Sign out to
    # every page; the nonce lets Flask-Admin's script tags run under the Content-Security-Policy.
    admin = Admin(app, name="Sealed", url="/admin", index_view=HomeView(name="Home", url="/admin"),
                  theme=Bootstrap4Theme(swatch="default", fluid=True, base_template="admin/console_base.html"),
                  csp_nonce_generator=security.csp_nonce)
    app.extensions["sealed.admin"] = admin
    # The console's scripts and styles (console.css and console.js on every page, the composer's
    # compose.js) come from our own origin: no inline script, so the console runs under a strict
    # Content-Security-Policy. The blueprint's name and path predate the other areas; pages and
    # tests refer to both.
    app.register_blueprint(Blueprint("compose_assets", __name__, static_folder=str(STATIC_FOLDER),
                                     static_url_path=f"{admin.url}/assets/compose"))
    init_input_guards(app, admin.url)
    for area in AREAS:
        area.register(admin)

    @app.get("/")
    def root():
        return redirect(url_for("admin.index"))
