"""Sign-in and sign-out for the console (Flask-Login), and the limits on a session.

A console session ends, with a message on the sign-in page, when
- the user's ``session_version`` is no longer the one it was signed in with: sign-out (anywhere),
  a password change or reset, deactivation or a role change raise it (messaging.people.users.end_sessions).
  The user loader checks it, so no request is ever served under a revoked session;
- it has been idle longer than the ``session_idle_minutes`` setting;
- it is older than ``SESSION_MAX_HOURS`` since sign-in, however active.

Sign-in attempts are limited per client address (``LOGIN_LIMIT``) and, separately, per account
named in the form (``LOGIN_ACCOUNT_LIMIT``, failed attempts only): many people may share one
address behind a proxy, and guesses spread over many addresses still meet the account's limit.
Every refused sign-in is audited (``user.login_failed``).

Two-factor sign-in: after a correct password, a user who has TOTP enabled is only *half* signed in:
the session holds the pending user (with their session version, the checked ``next`` path and
the time, for ``PENDING_SECONDS``) but no Flask-Login identity, so no console page serves it.
The code page (``/login/code``, a TOTP code or a recovery code) completes the sign-in; wrong codes
are audited and limited like passwords (per address and per account). When the ``two_factor``
setting requires a code of a user who has not enrolled, every console page but the enrolment page
(and sign-out) redirects there until they have.
"""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired

from extensions import limiter, login_manager
from messaging.audit import Actor
from messaging.db import db
from messaging.models import User
from messaging.people.users import (
    authenticate,
    normalise_email,
    note_failed_login,
    note_failed_second_factor,
    record_sign_in,
    sign_out,
)
from messaging.security.crypto import keyring
from messaging.security.two_factor import check_second_factor, is_enabled, required_for
from messaging.settings import get_settings

from .lookup import get_by_id
from .security import is_console_request

bp = Blueprint("auth", __name__, template_folder="templates")

# Keys of the signed session cookie (besides Flask-Login's own).
SESSION_VERSION = "session_version"
SIGNED_IN_AT = "signed_in_at"
LAST_SEEN = "last_seen"
PENDING = "two_factor_pending"
PENDING_SECONDS = 5 * 60
# What a signed-in user who must enrol may still reach (the account area's enrolment pages).
ENROLMENT_ENDPOINTS = {"account.two_factor", "account.two_factor_enable", "auth.logout"}
SESSION_REVOKED = ("Your session has ended: you signed out elsewhere, your password or role was changed, "
                   "or your account was deactivated. Please sign in again.")


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


class CodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired()])


def safe_next(target: str | None) -> str:
    """Only same-site paths: an unchecked ``next`` is an open redirect."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("admin.index")


def _login_limit() -> str:
    return current_app.config["LOGIN_LIMIT"]


def account_limit() -> str:
    """Failed sign-ins (and wrong current passwords) allowed per account (``LOGIN_ACCOUNT_LIMIT``)."""
    return current_app.config["LOGIN_ACCOUNT_LIMIT"]


def submitted_account() -> str:
    """The account a sign-in names, as a rate-limit key: a keyed hash of the normalised e-mail, so
    the counters (in Redis when it is shared) hold no address."""
    return "account:" + keyring().keyed_hash(normalise_email(request.form.get("email")))


def _refused(response) -> bool:
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(account_limit, key_func=submitted_account, methods=["POST"], deduct_when=_refused)
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            note_failed_login(form.email.data, request.remote_addr)
            db.session.commit()
            flash("That e-mail and password do not match an active account.", "error")
        elif is_enabled(user):
            db.session.commit()  # a password hash upgraded by authenticate() is kept
            session.clear()
            session[PENDING] = {"user": user.id, "version": user.session_version, "at": time.time(),
                                "next": safe_next(request.args.get("next")), "account": submitted_account()}
            return redirect(url_for("auth.second_factor"))
        else:
            start_session(user)
            record_sign_in(user, request.remote_addr)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")))
    return render_template("console/login.html", form=form), 401 if request.method == "POST" else 200


def _pending_user() -> User | None:
    """The user half signed in by this session, while the pending state is fresh and still theirs."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    user = get_by_id(User, pending.get("user"))
    if user is None or not user.active or user.session_version != pending.get("version") or not is_enabled(user):
        return None
    return user


def pending_account() -> str:
    """The rate-limit key of the code page: the same account key as the password step's."""
    pending = session.get(PENDING)
    if isinstance(pending, dict) and pending.get("account"):
        return pending["account"]
    return "pending:" + keyring().keyed_hash(request.remote_addr or "")


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(account_limit, key_func=pending_account, methods=["POST"], deduct_when=_refused)
def second_factor():
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    user = _pending_user()
    if user is None:
        session.pop(PENDING, None)
        flash("Please sign in again: the step for your two-factor code has expired or was not started.", "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        factor = check_second_factor(user, form.code.data)
        if factor is None:
            note_failed_second_factor(user, request.remote_addr)
            db.session.commit()
            form.code.data = ""  # a refused code is not sent back
            flash("That code is not valid. Type the 6 digits your authenticator app shows now, "
                  "or one of your unused recovery codes.", "error")
        else:
            next_path = session[PENDING]["next"]
            start_session(user)
            record_sign_in(user, request.remote_addr, second_factor=factor.kind)
            db.session.commit()
            if factor.kind == "recovery":
                flash(f"You signed in with a recovery code; it cannot be used again. {factor.codes_left} "
                      "left: make new ones on your account page if you are running short.", "warning")
            return redirect(next_path)
    return (render_template("console/two_factor_code.html", form=form, email=user.email),
            401 if request.method == "POST" else 200)


def start_session(user: User) -> None:
    """A fresh session for ``user``: nothing carried over from before sign-in (session fixation)."""
    session.clear()
    login_user(user)
    now = time.time()
    session[SESSION_VERSION] = user.session_version
    session[SIGNED_IN_AT] = now
    session[LAST_SEEN] = now
    # Put the CSRF token in the new session now: pages loaded in parallel then all carry it,
    # and no response can write back a session that lacks it.
    generate_csrf()


def keep_session(version: int) -> None:
    """Let the current session survive a change that ended all the user's sessions (own password)."""
    session[SESSION_VERSION] = version


def end_this_session(message: str) -> None:
    logout_user()
    session.clear()
    flash(message, "info")


@bp.post("/logout")
@login_required
def logout():
    user = current_user._get_current_object()
    # Every session of this user, not only this cookie.
    sign_out(Actor.for_user(user, address=request.remote_addr), user)
    db.session.commit()
    end_this_session("You are signed out.")
    return redirect(url_for("auth.login"))


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    user = get_by_id(User, user_id)
    if user is None or not user.active or session.get(SESSION_VERSION) != user.session_version:
        return None
    return user


def enforce_session_limits():
    """End a console session that was revoked, has been idle too long, or is too old."""
    if not current_user.is_authenticated:
        if "_user_id" in session:  # a signed-in session the user loader refused: revoked on the server
            session.clear()
            flash(SESSION_REVOKED, "info")
            if request.endpoint != "auth.login":
                return redirect(url_for("auth.login", next=request.full_path))
        return None
    now = time.time()
    max_hours = current_app.config["SESSION_MAX_HOURS"]
    signed_in_at = session.get(SIGNED_IN_AT)
    if max_hours and (signed_in_at is None or now - signed_in_at > max_hours * 3600):
        end_this_session(f"Your session has ended: a session lasts at most {max_hours:g} hours after signing in. "
                         "Please sign in again.")
        return redirect(url_for("auth.login", next=request.full_path))
    last = session.get(LAST_SEEN, now)
    if now - last > get_settings().session_idle_minutes * 60:
        end_this_session("You were signed out after a period of inactivity.")
        return redirect(url_for("auth.login", next=request.full_path))
    # Rewrite the session cookie at most every half minute: parallel requests (assets, the live
    # panel) would otherwise race to write back their own copies of it.
    if now - last > 30 or LAST_SEEN not in session:
        session[LAST_SEEN] = now
    return None


def too_many_attempts(error):
    """A console page for a 429, not a bare error; the limiter adds Retry-After. The viewer and the
    API answer their own 429s (their blueprints' handlers come first)."""
    if not is_console_request():
        return error
    if request.endpoint == "auth.login":
        return render_template("console/login.html", form=LoginForm(), limited=True), 429
    if request.endpoint == "auth.second_factor":
        return render_template("console/two_factor_code.html", form=CodeForm(), limited=True), 429
    return render_template("console/too_many_attempts.html"), 429


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    app.register_blueprint(bp)
    app.register_error_handler(429, too_many_attempts)

    @app.before_request
    def _idle():
        endpoint = request.endpoint or ""
        if (request.blueprint in ("viewer", "api", "hooks", "health") or endpoint == "static"
                or endpoint.endswith(".static")):
            return None
        return enforce_session_limits() or require_enrolment()


def require_enrolment():
    """Send a signed-in user whom the ``two_factor`` setting requires to enrol to the enrolment page."""
    if not current_user.is_authenticated or request.endpoint in ENROLMENT_ENDPOINTS:
        return None
    user = current_user._get_current_object()
    if is_enabled(user) or not required_for(user, get_settings().two_factor):
        return None
    return redirect(url_for("account.two_factor"))
