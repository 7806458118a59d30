"""Two-factor sign-in as a person meets it: an authenticator app (pyotp) holding a secret, codes it shows."""
from __future__ import annotations

from datetime import UTC, timedelta

import pyotp

from messaging import clock
from messaging.audit import SYSTEM
from messaging.db import db
from messaging.models import User
from messaging.security import two_factor
from messaging.settings import change_setting


def code_now(secret: str, steps_ahead: int = 0) -> str:
    """The code an authenticator app holding ``secret`` shows at the core's time (``steps_ahead`` steps later)."""
    moment = clock.utcnow() + timedelta(seconds=two_factor.STEP_SECONDS * steps_ahead)
    return pyotp.TOTP(secret).at(moment.replace(tzinfo=UTC))


def enrol(app, email: str) -> tuple[str, list[str]]:
    """Turn on two-factor sign-in for the user with ``email`` through the core; (secret, recovery codes)."""
    with app.app_context():
        user = db.session.execute(db.select(User).filter_by(email=email)).scalar_one()
        secret = two_factor.new_secret()
        # The enrolment uses the step before now, so the sign-in that follows may use the current one.
        codes = two_factor.enable(SYSTEM, user, secret, code_now(secret, steps_ahead=-1))
        db.session.commit()
        return secret, codes


def require_two_factor(app, policy: str) -> None:
    """Set the ``two_factor`` setting (off, admins, all)."""
    with app.app_context():
        change_setting(SYSTEM, "two_factor", policy)
        db.session.commit()


def stored_user(app, email: str) -> User:
    """The user row as the database holds it now, detached."""
    with app.app_context():
        user = db.session.execute(db.select(User).filter_by(email=email)).scalar_one()
        db.session.expunge(user)
        return user
