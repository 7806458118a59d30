"""Pages of a list: which page a request may see, and one page of a query with the total to page through."""
from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from messaging.db import db


@dataclass(frozen=True)
class Page:
    """One page of a list, with the total to page through."""

    items: list
    total: int
    page: int  # 1-based
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the total fills (at least one, so an empty list still has its page)."""
        return page_count(self.total, self.per_page)


def page_count(total: int, per_page: int) -> int:
    """How many pages ``total`` rows fill, at least one."""
    return max(1, ceil(total / per_page))


def page_number(requested: int | None, total: int, per_page: int) -> int:
    """The 1-based page to show: the requested one, kept between the first and the last.

    A page past the end is the last one: a typed ``?page=`` must not reach an OFFSET out of range.
    """
    return min(max(1, requested or 1), page_count(total, per_page))


def fetch_page(query, count_query, requested: int | None, per_page: int) -> Page:
    """Run ``count_query`` for the total, then one page of ``query``'s entities."""
    total = db.session.execute(count_query).scalar_one()
    page = page_number(requested, total, per_page)
    items = list(db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).unique().scalars())
    return Page(items=items, total=total, page=page, per_page=per_page)
