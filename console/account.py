"""The signed-in user's own account: their password, and their two-factor sign-in.

Reached from the user's e-mail in the menu bar (admin/console_base.html), not from the menu. A
password change ends every other session of the user; this one carries on with the new session
version.

Two-factor enrolment: the page draws the QR code of a fresh secret itself (segno, inline SVG: no
image service ever sees the secret) and shows the secret as text; the secret waits, sealed under
the master keys, in the session until a first code confirms it. The recovery codes are shown on
that response only (``no-store``), like a new API key. Turning it on ends the user's other
sessions, which were opened with the password alone; this one carries on. An admin resets another user's
enrolment from here too (the users list links to it).
"""
from __future__ import annotations

import segno
from flask import flash, make_response, redirect, request, session, url_for
from flask_admin import Admin, expose
from flask_login import current_user
from markupsafe import Markup

from extensions import limiter
from messaging.models import User
from messaging.people.users import MIN_PASSWORD_LENGTH, change_own_password, turn_on_two_factor
from messaging.security import two_factor
from messaging.settings import get_settings

from .auth import account_limit, keep_session
from .base import SecureView, current_actor
from .core_calls import run_core
from .lookup import get_or_404
from .widgets import confirm_page

ENROLMENT = "two_factor_enrolment"  # the sealed secret waiting for its first code


def _this_user() -> str:
    return f"password-change:{current_user.get_id()}"


def _this_user_codes() -> str:
    return f"two-factor:{current_user.get_id()}"


def _qr_svg(uri: str) -> Markup:
    # segno's SVG holds only the drawn modules and our constant title: the URI never appears as text.
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, light="#fff",
                                                title="QR code for your authenticator app")
    return Markup(svg)  # noqa: S704 - built by segno from fixed parts, see above


def _codes_page(view, codes: list[str], title: str):
    response = make_response(view.render("console/two_factor_codes.html", codes=codes, title=title))
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused(response) -> bool:
    return response.status_code == 422


class AccountView(SecureView):
    def is_visible(self) -> bool:
        return False  # the menu bar's e-mail link leads here

    # The form checks the current password: wrong guesses share the per-account sign-in budget,
    # so a borrowed session cannot be used to try passwords without end.
    @expose("/", methods=("GET", "POST"))
    @limiter.limit(account_limit, key_func=_this_user, methods=["POST"], deduct_when=_refused)
    def index(self):
        errors: dict[str, str] = {}
        if request.method == "POST":
            user = current_user._get_current_object()
            with run_core(flash_error=False) as call:
                version = change_own_password(current_actor(), user, request.form.get("current_password", ""),
                                              request.form.get("new_password", ""),
                                              request.form.get("confirm_password", ""))
            if not call.failed:
                keep_session(version)
                flash("Your password is changed. Every other session of yours has been signed out.", "success")
                return redirect(self.get_url(".index"))
            errors = call.fields
        return self.render("console/account_password.html", errors=errors, min_length=MIN_PASSWORD_LENGTH,
                           two_factor_on=two_factor.is_enabled(current_user)), 422 if errors else 200

    @expose("/two-factor/", methods=("GET",))
    def two_factor(self, errors: dict | None = None, status: int = 200):
        user = current_user._get_current_object()
        required = two_factor.required_for(user, get_settings().two_factor)
        context = {"required": required, "errors": errors or {}, "user": user}
        if two_factor.is_enabled(user):
            context["codes_left"] = len(user.recovery_code_hashes or [])
            return self.render("console/two_factor_manage.html", **context), status
        secret = two_factor.unseal_secret(session.get(ENROLMENT), user.id)
        if secret is None:
            secret = two_factor.new_secret()
            session[ENROLMENT] = two_factor.seal_secret(secret, user.id)
        uri = two_factor.provisioning_uri(secret, user.email)
        response = make_response(self.render("console/two_factor_setup.html", secret=secret, qr=_qr_svg(uri),
                                             uri=uri, **context), status)
        response.headers["Cache-Control"] = "no-store"
        return response

    @expose("/two-factor/enable/", methods=("POST",))
    @limiter.limit(account_limit, key_func=_this_user_codes, deduct_when=_refused)
    def two_factor_enable(self):
        user = current_user._get_current_object()
        secret = two_factor.unseal_secret(session.get(ENROLMENT), user.id)
        with run_core(flash_error=False) as call:
            codes, version = turn_on_two_factor(current_actor(), user, secret, request.form.get("code", ""))
        if call.failed:
            if not call.fields:
                flash(call.error.message, "error")
                return redirect(self.get_url(".two_factor"))
            return self.two_factor(errors=call.fields, status=422)
        session.pop(ENROLMENT, None)
        keep_session(version)
        return _codes_page(self, codes, "Two-factor sign-in is on")

    @expose("/two-factor/recovery-codes/", methods=("POST",))
    @limiter.limit(account_limit, key_func=_this_user_codes, deduct_when=_refused)
    def two_factor_regenerate(self):
        with run_core(flash_error=False) as call:
            codes = two_factor.regenerate_recovery_codes(current_actor(), current_user._get_current_object(),
                                                         request.form.get("code", ""))
        if call.failed:
            return self.two_factor(errors=call.fields, status=422)
        return _codes_page(self, codes, "New recovery codes")

    @expose("/two-factor/disable/", methods=("POST",))
    @limiter.limit(account_limit, key_func=_this_user_codes, deduct_when=_refused)
    def two_factor_disable(self):
        with run_core(flash_error=False) as call:
            two_factor.disable(current_actor(), current_user._get_current_object(), request.form.get("code", ""))
        if call.failed:
            if not call.fields:
                flash(call.error.message, "error")
                return redirect(self.get_url(".two_factor"))
            return self.two_factor(errors=call.fields, status=422)
        flash("Two-factor sign-in is off. You sign in with your password alone.", "success")
        return redirect(self.get_url(".two_factor"))

    @expose("/two-factor/reset/", methods=("GET", "POST"))
    def two_factor_reset(self):
        self.require_admin()
        user = get_or_404(User, request.args.get("id"))
        back = url_for("users.index_view")
        if user.id == current_user.id:
            return redirect(self.get_url(".two_factor"))
        if request.method == "GET":
            return confirm_page(self, "Reset two-factor sign-in",
                                f"Remove the two-factor enrolment of {user.email}? Their authenticator app and "
                                "recovery codes stop working; they sign in with their password and set up "
                                "two-factor sign-in again (at once, where the settings require it).",
                                self.get_url(".two_factor_reset", id=user.id), "Reset two-factor", back)
        with run_core() as call:
            two_factor.reset(current_actor(), user)
        if not call.failed:
            flash(f"The two-factor sign-in of {user.email} is reset.", "success")
        return redirect(back)


def register(admin: Admin) -> None:
    admin.add_view(AccountView(name="Your account", endpoint="account", url="account"))
