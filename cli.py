"""The ``flask --app wsgi`` commands, as docs/contracts.md lists them."""
from __future__ import annotations

import json
import sys

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import ROLES, User
from messaging.settings import InvalidSetting, change_setting, settings_as_dict

users_cli = AppGroup("users", help="Console users.")
api_keys_cli = AppGroup("api-keys", help="API keys.")
settings_cli = AppGroup("settings", help="Organisation settings.")
keys_cli = AppGroup("keys", help="Encryption keys.")
contacts_cli = AppGroup("contacts", help="Contacts.")
audit_cli = AppGroup("audit", help="The audit trail.")
retention_cli = AppGroup("retention", help="Retention of message content.")


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _fields_text(exc: ValidationFailed) -> str:
    return exc.message + "".join(f"\n  {field}: {text}" for field, text in exc.fields.items())


@click.command("seed")
@with_appcontext
@click.option("--demo", is_flag=True, help="Also add demo contacts.")
def seed_command(demo: bool) -> None:
    """Load the recommendation matrix and starter templates (and demo contacts). Idempotent."""
    from seeds import seed

    report = seed(demo=demo)
    click.echo(f"Seeded {report.situations} situations, {report.templates} templates, "
               f"{report.contacts} contacts (existing rows left as they were).")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(email: str, role: str, password_stdin: bool) -> None:
    """Create a console user. Without --password-stdin a password is generated and printed once."""
    from messaging.people.users import create_user, generate_password

    password = sys.stdin.readline().rstrip("\n") if password_stdin else generate_password()
    try:
        user = create_user(SYSTEM, email, role, password)
    except ValidationFailed as exc:
        _fail(_fields_text(exc))
    db.session.commit()
    click.echo(f"Created {user.role} {user.email}")
    if not password_stdin:
        click.echo(f"Password (shown once): {password}")


@users_cli.command("ensure-admin")
@click.option("--email", default="admin@example.com", show_default=True)
def users_ensure_admin(email: str) -> None:
    """Create the first admin with a generated password if there is no user at all."""
    from messaging.people.users import create_user, generate_password

    if db.session.execute(db.select(User.id).limit(1)).first() is not None:
        click.echo("Users exist already; log in with yours (or `flask users create`).")
        return
    password = generate_password()
    create_user(SYSTEM, email, "admin", password)
    db.session.commit()
    click.echo("First admin created. Log in at /login with:")
    click.echo(f"  e-mail:   {email}")
    click.echo(f"  password: {password}   (shown once; change it or keep it safe)")


@api_keys_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="staff", show_default=True)
def api_keys_create(name: str, role: str) -> None:
    """Create an API key and print it once."""
    from messaging.people.users import create_api_key

    try:
        _key, plain = create_api_key(SYSTEM, name, role)
    except ValidationFailed as exc:
        _fail(_fields_text(exc))
    db.session.commit()
    click.echo(plain)


@click.command("deliver")
@with_appcontext
@click.option("--limit", default=500, show_default=True, help="Most deliveries to claim in the pass.")
def deliver_command(limit: int) -> None:
    """Run one dispatch pass, then exit."""
    from messaging.delivery.engine import dispatch_once
    from messaging.outreach.broadcast_fanout import run_broadcasts

    fanned = run_broadcasts()
    if fanned.queued or fanned.finished:
        click.echo(f"broadcasts: {fanned.queued:,} messages queued, {fanned.finished} finished fanning out")
    result = dispatch_once(limit=limit)
    click.echo(f"claimed {result.claimed}, sent {result.sent}, retrying {result.retried}, failed {result.failed}")


campaigns_cli = AppGroup("campaigns", help="Campaign sequences.")


@campaigns_cli.command("run")
def campaigns_run() -> None:
    """One campaign pass: enrol newcomers where asked, queue the steps that are due, then exit."""
    from messaging.outreach.campaign_runner import run_campaigns_once

    result = run_campaigns_once()
    click.echo(result.summary())


@click.command("worker")
@with_appcontext
def worker_command() -> None:
    """Run the delivery scheduler in the foreground (set SCHEDULER_ENABLED=0 on web processes)."""
    from flask import current_app

    from messaging.delivery.scheduler import run_worker

    click.echo("Sealed worker started; Ctrl-C stops it.")
    run_worker(current_app._get_current_object())


@click.command("outbox")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--to", "to", default=None, help="Only what went to this address.")
def outbox_command(as_json: bool, to: str | None) -> None:
    """Print what the outbox transport recorded."""
    from messaging.delivery.transports.outbox import read_outbox

    rows = read_outbox(to)
    for row in rows:
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            subject = f" [{row['subject']}]" if row["subject"] else ""
            click.echo(f"{row['created_at']}  {row['channel']:5} → {row['to']}{subject}\n    {row['body']}")
    if not rows and not as_json:
        click.echo("The outbox is empty.")


@settings_cli.command("show")
@click.option("--json", "as_json", is_flag=True)
def settings_show(as_json: bool) -> None:
    """Print every setting."""
    values = settings_as_dict()
    db.session.commit()
    if as_json:
        click.echo(json.dumps(values))
        return
    for key, value in values.items():
        click.echo(f"{key} = {json.dumps(value) if not isinstance(value, str) else value}")


@settings_cli.command("set")
@click.argument("key")
@click.argument("value")
def settings_set(key: str, value: str) -> None:
    """Change one setting; an unknown key or a bad value exits non-zero and says why."""
    try:
        old, new = change_setting(SYSTEM, key, value)
    except InvalidSetting as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(f"{key}: {old} → {new}")


@keys_cli.command("rotate")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1),
              help="Rows re-encrypted per transaction.")
def keys_rotate(batch_size: int) -> None:
    """Re-encrypt everything sealed under ENCRYPTION_KEYS (message keys, code payloads, outbox
    records, import keys) under its first key. Exits non-zero if some row no configured key opens."""
    from messaging.security.key_rotation import rotate_master_keys

    def progress(column) -> None:
        click.echo(f"Re-wrapped {column.rotated:,} of {column.total:,} {column.label}…")

    report = rotate_master_keys(SYSTEM, batch_size=batch_size, progress=progress)
    click.echo("Done: " + ", ".join(f"{c.rotated:,} {c.label}" for c in report.columns)
               + " now under the current master key.")
    if report.unreadable:
        for column in report.columns:
            if column.unreadable:
                listed = ", ".join(str(i) for i in column.unreadable_ids)
                more = "" if len(column.unreadable_ids) == column.unreadable else ", …"
                click.echo(f"Error: {column.unreadable:,} {column.label} open under no configured key, left "
                           f"as they were ({column.table} ids {listed}{more}).", err=True)
        sys.exit(1)


@contacts_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--tag", "tags", multiple=True, help="A tag added to every imported contact (repeatable).")
@click.option("--json", "as_json", is_flag=True, help='One JSON object: {"created", "updated", "rejected", "errors"}.')
def contacts_import(file: str, tags: tuple[str, ...], as_json: bool) -> None:
    """Import contacts from a CSV file (UTF-8, `,` or `;`); rows matching a contact by phone, else
    e-mail, update it. Exits 0 when the file was read, even with rejected rows; 1 when it cannot be read."""
    from pathlib import Path

    from messaging.audience.import_jobs import create_import, rejected_rows, start_import
    from messaging.audience.import_runner import run_import, worker_id
    from messaging.models import ContactImport

    worker = worker_id()
    with open(file, "rb") as stream:
        try:
            contact_import = create_import(SYSTEM, Path(file).name, stream, extra_tags=list(tags))
            start_import(contact_import, contact_import.mapping, claim_for=worker)
        except ValidationFailed as exc:
            db.session.rollback()
            _fail(f"{file}: {_fields_text(exc) if 'file' not in exc.fields else exc.message}")
    db.session.commit()
    import_id = contact_import.id
    outcome = run_import(import_id, worker)
    contact_import = db.session.get(ContactImport, import_id, populate_existing=True)
    if outcome != "done":
        _fail(f"{file}: {contact_import.error or 'the import was taken over by another worker'} "
              f"({contact_import.created:,} created and {contact_import.updated:,} updated before it stopped).")
    errors = rejected_rows(contact_import)
    if as_json:
        # Written piece by piece: a file with many rejected rows never builds its whole list in memory.
        counts = {key: getattr(contact_import, key) for key in ("created", "updated", "rejected")}
        click.echo(json.dumps(counts)[:-1] + ', "errors": [', nl=False)
        for n, (line, reason, _values) in enumerate(errors):
            click.echo(("" if n == 0 else ", ") + json.dumps({"line": line, "reason": reason}, ensure_ascii=False),
                       nl=False)
        click.echo("]}")
        return
    click.echo(f"{Path(file).name}: {contact_import.created:,} created, {contact_import.updated:,} updated, "
               f"{contact_import.rejected:,} rejected.")
    for line, reason, _values in errors:
        click.echo(f"  line {line}: {reason}")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Walk the audit chain; exit non-zero naming the first entry that was edited, deleted or inserted,
    or saying that the newest entries were removed."""
    from messaging.audit_chain import verify_chain

    report = verify_chain()
    if not report.ok:
        _fail(report.problem)
    click.echo(f"Audit chain intact: {report.checked:,} entries, each MAC and the head agree.")


@retention_cli.command("run")
@click.option("--dry-run", is_flag=True, help="Report what would be destroyed; change nothing.")
def retention_run(dry_run: bool) -> None:
    """Destroy message content past `retention_days` now (the nightly job does the same)."""
    from messaging.retention import run_retention

    report = run_retention(SYSTEM, dry_run=dry_run)
    click.echo(report.summary())


@contacts_cli.command("export")
@click.argument("contact_id", type=int)
def contacts_export(contact_id: int) -> None:
    """Print everything Sealed holds about a contact as JSON (GDPR access and portability)."""
    from messaging.errors import NotFound
    from messaging.privacy import export_contact

    try:
        document = export_contact(SYSTEM, contact_id)
    except NotFound as exc:
        _fail(str(exc))
    db.session.commit()  # the export's audit entry
    click.echo(json.dumps(document, ensure_ascii=False, indent=2, default=str))


@contacts_cli.command("erase")
@click.argument("contact_id", type=int)
@click.option("--yes", is_flag=True, help="Confirm: erasure cannot be undone.")
def contacts_erase(contact_id: int, yes: bool) -> None:
    """Erase a contact (GDPR): destroy their messages' keys, anonymise them, cancel what is pending."""
    from messaging.errors import NotFound
    from messaging.privacy import erase_contact

    if not yes:
        _fail(f"erasing contact {contact_id} cannot be undone; run again with --yes to confirm.")
    try:
        report = erase_contact(SYSTEM, contact_id)
    except NotFound as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(report.summary())


def init_app(app: Flask) -> None:
    for command in (seed_command, deliver_command, worker_command, outbox_command):
        app.cli.add_command(command)
    for group in (users_cli, api_keys_cli, settings_cli, keys_cli, contacts_cli, campaigns_cli, audit_cli,
                  retention_cli):
        app.cli.add_command(group)
