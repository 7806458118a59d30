"""The console: login, Flask-Admin views for records, and the staff pages (compose, conversations).

The Admin object is built inside init_app: a module-level one would re-register its blueprints
when a second app is created in the same process (tests).
"""
from __future__ import annotations

from flask import Flask, redirect, url_for
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from . import auth
from .base import HomeView

# Each module exposes register(admin); one module per area of the console.
VIEW_MODULES = ("console.records", "console.settings_views", "console.compose", "console.conversations",
                "console.matrix", "console.template_views", "console.deliveries")


def init_app(app: Flask) -> None:
    auth.init_app(app)
    admin = Admin(app, name="Sealed", url="/admin", index_view=HomeView(name="Home", url="/admin"),
                  theme=Bootstrap4Theme(swatch="default", fluid=True))
    app.extensions["sealed.admin"] = admin
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
