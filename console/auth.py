"""Login and logout for the console (Flask-Login), with an idle timeout and a rate limit."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from extensions import limiter, login_manager
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.models import User
from messaging.settings import get_settings
from messaging.users import authenticate

bp = Blueprint("auth", __name__, template_folder="templates")


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


def safe_next(target: str | None) -> str:
    """Only same-site paths: an unchecked ``next`` is an open redirect."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            flash("That e-mail and password do not match an active account.", "error")
        else:
            session.clear()
            login_user(user)
            session["last_seen"] = time.time()
            # Put the CSRF token in the new session now: pages loaded in parallel then all carry it,
            # and no response can write back a session that lacks it.
            generate_csrf()
            audit(Actor.for_user(user), "user.login", "user", user.id)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")))
    return render_template("console/login.html", form=form), 401 if request.method == "POST" else 200


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


def enforce_idle_timeout():
    """Sign out a console session left idle longer than ``session_idle_minutes``."""
    if not current_user.is_authenticated:
        return None
    now = time.time()
    last = session.get("last_seen", now)
    if now - last > get_settings().session_idle_minutes * 60:
        logout_user()
        session.clear()
        flash("You were signed out after a period of inactivity.", "info")
        return redirect(url_for("auth.login", next=request.full_path))
    # Rewrite the session cookie at most every half minute: parallel requests (assets, the live
    # panel) would otherwise race to write back their own copies of it.
    if now - last > 30 or "last_seen" not in session:
        session["last_seen"] = now
    return None


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    app.register_blueprint(bp)

    @app.before_request
    def _idle():
        endpoint = request.endpoint or ""
        if request.blueprint in ("viewer", "api", "hooks") or endpoint == "static" or endpoint.endswith(".static"):
            return None
        return enforce_idle_timeout()
