"""The database handle shared by the core and the faces.

Flask-SQLAlchemy is a database binding, not HTTP: the core owns it so that models,
services and the delivery engine can run from the CLI and the scheduler alike.
"""
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

# Stable constraint names keep Alembic revisions identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        # WAL lets the scheduler write while web requests read; foreign keys are off by default.
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL syncs at checkpoints, not at every commit: a power cut may lose the last
        # commits but never corrupts the database, and each commit (a link open is one) stops paying an fsync.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Deleted and overwritten rows are zeroed, not left in free space: erasure must leave nothing readable
        # (many builds have it on by default, not all).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()


def install_sqlite_pragmas() -> None:
    """Turn on WAL, foreign keys and a busy timeout for every SQLite connection (once)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)
