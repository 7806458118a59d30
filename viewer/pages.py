"""What every viewer page shares: the page context, times in plain words, the neutral 404, notices."""
from __future__ import annotations

from datetime import datetime

from flask import render_template, request

from messaging import clock
from messaging.settings import get_settings

from .blueprint import bp


def client_ip() -> str | None:
    return request.remote_addr


def human_time(moment: datetime) -> str:
    """E.g. ``14:35 UTC on 3 March 2025`` (stored times are naive UTC)."""
    return f"{moment:%H:%M} UTC on {moment.day} {moment:%B %Y}"


def minutes_from_now(moment: datetime) -> int:
    return max(1, round((moment - clock.utcnow()).total_seconds() / 60))


@bp.app_template_filter("viewer_time")
def _viewer_time(moment: datetime) -> str:
    return human_time(moment)


@bp.context_processor
def _page_context() -> dict:
    settings = get_settings()
    return {"org_name": settings.org_name, "has_logo": settings.logo is not None}


def not_found() -> tuple[str, int]:
    """The one page for a tampered, truncated or unknown link: it must not say which."""
    return render_template("viewer/not_found.html"), 404


def notice(title: str, text: str, status: int, token: str | None = None, state: str = "notice") -> tuple[str, int]:
    return render_template("viewer/notice.html", title=title, text=text, token=token, state=state), status


@bp.errorhandler(429)
def _too_many(_error):
    return notice("Please wait a moment",
                  "There were too many attempts from this device. Wait a minute, then try again.", 429,
                  state="too_many")
