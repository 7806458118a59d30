"""The console's home page: the dashboard of the last 30 days (messaging.insight.dashboard), each figure
as a chart drawn on the server and as a table. Staff see the messages they created; admins all."""
from __future__ import annotations

from flask_login import current_user

from messaging import clock
from messaging.insight.dashboard import DAYS, dashboard
from messaging.insight.funnel import describe_seconds

from .insight_charts import horizontal_bars, stacked_bars

MODE_LABELS = {"secure": "Secure", "standard": "Standard"}
CHANNEL_LABELS = {"sms": "SMS", "email": "E-mail", "voice": "Voice", "web": "Web"}


def owner_id() -> int | None:
    """Whose messages the signed-in user's figures cover: their own (staff) or everyone's (None, admins)."""
    return None if current_user.is_admin else current_user.id


def series_label(mode: str, channel: str) -> str:
    return f"{MODE_LABELS.get(mode, mode)} {CHANNEL_LABELS.get(channel, channel)}"


def home_context() -> dict:
    """What console/home.html needs: the figures and their charts."""
    figures = dashboard(clock.utcnow(), owner_id())
    per_day = figures.per_day
    labels = [series_label(mode, channel) for mode, channel in per_day.series]
    charts = {}
    if per_day.total:
        charts["per_day"] = stacked_bars(
            f"Messages per day by mode and channel, last {DAYS} days", per_day.days, labels,
            lambda day, i: per_day.count(day, *per_day.series[i]), "chart-per-day")
    if not figures.funnel.is_empty:
        charts["funnel"] = horizontal_bars("Secure messages reaching each stage",
                                           [(s.label, s.count) for s in figures.funnel.stages], "chart-funnel")
    if figures.failures:
        charts["failures"] = horizontal_bars("Failed messages by reason",
                                             [(r.reason, r.count) for r in figures.failures], "chart-failures",
                                             "sealed-series-4")
    if figures.suppressions:
        charts["suppressions"] = horizontal_bars("Suppressed messages by reason",
                                                 [(r.reason, r.count) for r in figures.suppressions],
                                                 "chart-suppressions", "sealed-series-2")
    return {"figures": figures, "charts": charts, "series_labels": labels, "days": DAYS,
            "median_to_view": describe_seconds(figures.funnel.median_seconds_to_view),
            "own_only": owner_id() is not None, "channel_labels": CHANNEL_LABELS}
