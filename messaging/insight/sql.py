"""SQL that SQLite and PostgreSQL spell differently: the day of a time, seconds between two times, a median.

Times are naive UTC in both databases, so a day is a UTC day. Each construct compiles to the
dialect's own functions, so the grouping and the arithmetic run in the database.
"""
from __future__ import annotations

from sqlalchemy import Float, Select, String, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from messaging.db import db


class day_of(FunctionElement):  # noqa: N801 - used like a SQL function
    """The UTC day of a timestamp as ``YYYY-MM-DD`` text."""

    type = String()
    inherit_cache = True
    name = "day_of"


@compiles(day_of)
def _day_of_default(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD')"


@compiles(day_of, "sqlite")
def _day_of_sqlite(element, compiler, **kw):
    return f"strftime('%Y-%m-%d', {compiler.process(element.clauses, **kw)})"


class seconds_between(FunctionElement):  # noqa: N801 - used like a SQL function
    """``later - earlier`` in seconds (a float), for two timestamps."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_default(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return (f"EXTRACT(EPOCH FROM ({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)}))")


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return (f"((julianday({compiler.process(later, **kw)}) - julianday({compiler.process(earlier, **kw)}))"
            " * 86400.0)")


def median_of(values: Select) -> float | None:
    """The median of a one-column select (None when it has no rows), found by the database.

    Counting first and then reading the middle row or two with ORDER BY … LIMIT/OFFSET needs no
    percentile function (SQLite has none) and never brings the rows into Python.
    """
    inner = values.subquery()
    column = list(inner.c)[0]
    count = db.session.execute(select(func.count()).select_from(inner).where(column.is_not(None))).scalar_one()
    if not count:
        return None
    middle = db.session.execute(select(column).where(column.is_not(None)).order_by(column)
                                .offset((count - 1) // 2).limit(2 - count % 2)).scalars().all()
    return sum(float(v) for v in middle) / len(middle)
