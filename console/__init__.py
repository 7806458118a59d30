"""The console: login, Flask-Admin views for records, and the staff pages (compose, conversations).

The Admin object is built inside init_app: a module-level one would re-register its blueprints
when a second app is created in the same process (tests).
"""
from __future__ import annotations

from flask import Flask, redirect, url_for
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from . import auth, security
from .base import HomeView, init_input_guards

# Each module exposes register(admin); one module per area of the console.
VIEW_MODULES = ("console.records", "console.settings_views", "console.compose", "console.conversations",
                "console.matrix", "console.template_views", "console.deliveries", "console.account")


def init_app(app: Flask) -> None:
    auth.init_app(app)
    security.init_app(app)
    # admin/console_base.html adds the console's stylesheet and the signed-in user with Sign out to
    # every page; the nonce lets Flask-Admin's script tags run under the Content-Security-Policy.
    admin = Admin(app, name="Sealed", url="/admin", index_view=HomeView(name="Home", url="/admin"),
                  theme=Bootstrap4Theme(swatch="default", fluid=True, base_template="admin/console_base.html"),
                  csp_nonce_generator=security.csp_nonce)
    app.extensions["sealed.admin"] = admin
    init_input_guards(app, admin.url)
    import importlib

    for module_name in VIEW_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # an area not built yet
        module.register(admin)

    @app.get("/")
    def root():
        return redirect(url_for("admin.index"))
