"""APScheduler wiring: a dispatch pass every few seconds, in the web process or in ``flask worker``;
beside it the re-notify ladder, the contact imports waiting to run, the broadcasts' fan-out and
the campaign pass (every ``CAMPAIGN_INTERVAL_SECONDS``, a minute by default).

Jobs live in memory: nothing coordinates schedulers across processes, so the safety lies in the
delivery claim, which any number of processes may run at once.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

_lock = threading.Lock()
# A dispatch job drains a backlog for longer than its interval, so "skipped: maximum number of
# running instances reached" is the normal case, not news; job errors are still logged by
# APScheduler's executor logger.
_scheduler_logger = logging.getLogger("sealed.scheduler")
_scheduler_logger.setLevel(logging.ERROR)


def dispatch_job(app) -> None:
    """Dispatch passes back to back while a backlog lasts (bounded), so a broadcast drains at the
    transports' pace rather than one batch per tick."""
    from messaging.delivery.engine import dispatch_until_idle

    interval = app.config["SCHEDULER_INTERVAL_SECONDS"]
    with app.app_context():
        dispatch_until_idle(max_seconds=max(30.0, interval * 10))


def renotify_job(app) -> None:
    """Queue the renotices that are due (the re-notify ladder), in an app context of its own."""
    from messaging.delivery.renotify import schedule_renotices

    with app.app_context():
        schedule_renotices()


def import_job(app) -> None:
    """Run the contact imports that are waiting (or whose worker died), in an app context of its own.

    The scheduler is wiring, not delivery logic: it starts the audience package's runner, whose
    claim (a conditional UPDATE with a lease) makes racing schedulers safe.
    """
    from messaging.audience.import_runner import run_pending_imports

    with app.app_context():
        run_pending_imports(max_seconds=max(30.0, app.config["SCHEDULER_INTERVAL_SECONDS"] * 10))


def broadcast_job(app) -> None:
    """Fan out the broadcasts that are sending (or whose time has come), then mark finished ones sent."""
    from messaging.outreach.broadcast_fanout import run_broadcasts

    with app.app_context():
        run_broadcasts(max_seconds=max(30.0, app.config["SCHEDULER_INTERVAL_SECONDS"] * 10))


def campaign_job(app) -> None:
    """One campaign pass (enrol, queue the steps that are due); the step's unique key makes races safe."""
    from messaging.outreach.campaign_runner import run_campaigns_once

    with app.app_context():
        run_campaigns_once()


def webhook_job(app) -> None:
    """Post the webhook deliveries that are due (claimed with a lease, so racing workers post each once)."""
    from messaging.webhooks.dispatch import dispatch_webhooks_until_idle

    with app.app_context():
        dispatch_webhooks_until_idle(max_seconds=max(30.0, app.config["SCHEDULER_INTERVAL_SECONDS"] * 10))


def retention_job(app) -> None:
    """The nightly retention pass: destroy the content whose retention period has ended."""
    from messaging.audit import SYSTEM
    from messaging.retention import run_retention

    with app.app_context():
        run_retention(SYSTEM)


def _add_jobs(scheduler, app) -> None:
    interval = app.config["SCHEDULER_INTERVAL_SECONDS"]
    now = datetime.now(UTC)
    scheduler.add_job(dispatch_job, "interval", seconds=interval, args=[app], id="dispatch",
                      max_instances=1, coalesce=True, replace_existing=True, next_run_time=now)
    scheduler.add_job(renotify_job, "interval", seconds=app.config["RENOTIFY_INTERVAL_SECONDS"],
                      args=[app], id="renotify", max_instances=1, coalesce=True, replace_existing=True,
                      next_run_time=now)
    scheduler.add_job(import_job, "interval", seconds=interval, args=[app], id="imports", max_instances=1,
                      coalesce=True, replace_existing=True, next_run_time=now)
    scheduler.add_job(broadcast_job, "interval", seconds=interval, args=[app], id="broadcasts", max_instances=1,
                      coalesce=True, replace_existing=True, next_run_time=now)
    scheduler.add_job(campaign_job, "interval", seconds=app.config["CAMPAIGN_INTERVAL_SECONDS"], args=[app],
                      id="campaigns", max_instances=1, coalesce=True, replace_existing=True, next_run_time=now)
    scheduler.add_job(webhook_job, "interval", seconds=interval, args=[app], id="webhooks", max_instances=1,
                      coalesce=True, replace_existing=True, next_run_time=now)
    # Nightly at 03:00 UTC; the pass is idempotent, so a missed night is made up by the next one.
    scheduler.add_job(retention_job, "cron", hour=3, minute=0, args=[app], id="retention", max_instances=1,
                      coalesce=True, replace_existing=True, misfire_grace_time=6 * 3600)


def should_start_in_web_process(app) -> bool:
    """Only one scheduler per process, and none in the reloader's watcher process."""
    if not app.config["SCHEDULER_ENABLED"] or app.testing:
        return False
    if app.debug and os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        return False
    return True


def start_scheduler(app) -> BackgroundScheduler | None:
    """Start the background scheduler once per app (when this process should run one); returns it."""
    with _lock:
        if "sealed.scheduler" in app.extensions or not should_start_in_web_process(app):
            return app.extensions.get("sealed.scheduler")
        scheduler = BackgroundScheduler(daemon=True, logger=_scheduler_logger)
        _add_jobs(scheduler, app)
        scheduler.start()
        app.extensions["sealed.scheduler"] = scheduler
        return scheduler


def _running_flask_run() -> bool:
    import click

    ctx = click.get_current_context(silent=True)
    return ctx is not None and ctx.command is not None and ctx.command.name == "run"


def init_scheduler(app) -> None:
    """Start the in-process scheduler with the web server, never in other CLI commands.

    ``flask run`` starts it at once; any other server (gunicorn) starts it at its first request,
    so ``flask db upgrade`` and friends never spawn a dispatcher against a half-built schema.
    """
    if _running_flask_run():
        start_scheduler(app)
        return

    @app.before_request
    def _start_scheduler_once():
        if "sealed.scheduler" not in app.extensions:
            start_scheduler(app)


def run_worker(app) -> None:
    """``flask worker``: the scheduler in the foreground, until interrupted (Ctrl-C or SIGTERM).

    On SIGTERM the pass under way finishes before the process exits; a SIGKILL leaves claimed rows
    to their lease, after which any worker sends them.
    """
    scheduler = BlockingScheduler(logger=_scheduler_logger)
    _add_jobs(scheduler, app)

    def stop(_signum, _frame):
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    scheduler.start()
