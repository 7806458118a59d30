"""The bounds a render must stay within, and the arithmetic that checks an operation against them
before it runs.

No single value may exceed ``MAX_OUTPUT`` characters (or items), and one render may build at most
``MAX_BUILT`` in all, intermediate values included. Each render has a deadline (``MAX_SECONDS``),
checked by ``tick``; ``render_budget`` gives one render its deadline and allowance. Sizes are
worked out from the operands (``text_size``, ``replaced_size``, ``joined_size``), so nothing too
big is ever allocated. A bound crossed raises ``RenderLimit`` with a message for the template's author.
"""
from __future__ import annotations

import time
from collections.abc import ItemsView, KeysView, ValuesView
from contextlib import contextmanager
from contextvars import ContextVar
from itertools import chain

from jinja2.exceptions import SecurityError
from jinja2.utils import Namespace

MAX_OUTPUT = 20_000  # characters a render may produce, and the largest value it may build
MAX_ITEMS = 1_000  # items in a range()
MAX_NUMBER = 1_000_000  # largest result of * and **
MAX_BUILT = 1_000_000  # characters (and list items) one render may build in all, intermediate values included
MAX_SECONDS = 1.0  # wall-clock time one render may take


class RenderLimit(SecurityError):
    """A render went over one of its bounds; the message is meant for the template's author."""


def too_long() -> RenderLimit:
    """The refusal of text that would grow past ``MAX_OUTPUT``."""
    return RenderLimit(f"This template would build text longer than {MAX_OUTPUT:,} characters")


def too_many() -> RenderLimit:
    """The refusal of a list that would grow past ``MAX_OUTPUT`` items."""
    return RenderLimit(f"This template would build a list longer than {MAX_OUTPUT:,} items")


class _Budget:
    """What one render may still spend: a deadline, and the characters and items built so far."""

    __slots__ = ("deadline", "built")

    def __init__(self):
        self.deadline = time.monotonic() + MAX_SECONDS
        self.built = 0


# The render under way in this thread or task. Outside render_text there is none, and only the
# per-value caps apply.
_BUDGET: ContextVar[_Budget | None] = ContextVar("sealed_render_budget", default=None)


def tick() -> None:
    """Refuse to go on once the render under way has passed its deadline."""
    budget = _BUDGET.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise RenderLimit(f"This template took too long to render (more than {MAX_SECONDS:g} s)")


_END = object()
TEXT = (str, bytes, bytearray)
REPEATABLE = (str, bytes, bytearray, list, tuple)  # what * repeats and + joins
CONTAINERS = (list, tuple, set, frozenset, dict)
_VIEWS = (list, tuple, set, frozenset, KeysView, ValuesView, ItemsView)


def text_size(value, limit: int = MAX_OUTPUT) -> int:
    """About how long ``str(value)`` would be, counted only until it passes ``limit``.

    One iterator per level rather than copies of the containers: a list of many references to one
    long list costs a step per item looked at, and the walk stops as soon as the limit is passed.
    """
    if isinstance(value, TEXT):
        return len(value)
    total, stack = 0, [iter((value,))]
    while stack and total <= limit:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
        elif isinstance(item, TEXT):
            total += len(item) + 4  # quotes, comma and space in a list's text
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 3
        elif isinstance(item, dict):
            total += 2
            stack.append(chain.from_iterable(item.items()))
        elif isinstance(item, Namespace):
            total += 13
            stack.append(chain.from_iterable(object.__getattribute__(item, "_Namespace__attrs").items()))
        elif isinstance(item, _VIEWS):
            total += 2
            stack.append(iter(item))
        else:
            total += 64  # a float, a function's or a loop's repr: short and not made longer by the template
    return total


def check_text(value) -> None:
    """Refuse a value whose text would be longer than ``MAX_OUTPUT``."""
    if text_size(value) > MAX_OUTPUT:
        raise too_long()


def built(value):
    """Charge a value an operation just made to the render; one over a cap is refused."""
    if isinstance(value, TEXT + CONTAINERS):
        size = len(value)
        if size > MAX_OUTPUT:
            raise too_long() if isinstance(value, TEXT) else too_many()
        budget = _BUDGET.get()
        if budget is not None:
            budget.built += size
            if budget.built > MAX_BUILT:
                raise RenderLimit(f"This template would build more than {MAX_BUILT:,} characters in all")
    return value


def capped_range(*args):
    """``range`` for templates: at most ``MAX_ITEMS`` items."""
    span = range(*args)
    if len(span) > MAX_ITEMS:
        raise SecurityError(f"range() is limited to {MAX_ITEMS:,} items")
    return span


def check_number(value):
    """Pass a number through unless it is larger than ``MAX_NUMBER``."""
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
        raise SecurityError(f"numbers above {MAX_NUMBER:,} are not allowed")
    return value


def replaced_size(text, old, new, count) -> int:
    """How long ``text.replace(old, new, count)`` would be, without building it."""
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * (len(new) - len(old))


def joined_size(separator, items: list) -> int:
    """About how long ``separator.join(items)`` would be, counted only until it passes ``MAX_OUTPUT``."""
    total = len(separator) * max(len(items) - 1, 0)
    for item in items:
        if total > MAX_OUTPUT:
            break
        total += text_size(item, MAX_OUTPUT - total)
    return total


def check_text_method(owner, name: str, args: tuple, kwargs: dict) -> tuple:
    """Refuse a str or bytes method call whose result would be too long; returns the arguments to use."""
    if name in ("center", "ljust", "rjust", "zfill"):
        if args and isinstance(args[0], int) and args[0] > MAX_OUTPUT:
            raise too_long()
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        tab = "\t" if isinstance(owner, str) else b"\t"
        if isinstance(size, int) and len(owner) + owner.count(tab) * max(size, 0) > MAX_OUTPUT:
            raise too_long()
    elif name == "replace" and len(args) >= 2:
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        if replaced_size(owner, args[0], args[1], count) > MAX_OUTPUT:
            raise too_long()
    elif name == "join" and args:
        items = list(args[0])
        if joined_size(owner, [item if isinstance(item, TEXT) else "" for item in items]) > MAX_OUTPUT:
            raise too_long()
        args = (items, *args[1:])
    elif name == "translate":
        raise SecurityError("translate() is not available in message templates")
    return args


@contextmanager
def render_budget():
    """Give the render run inside this block its own deadline and building allowance."""
    token = _BUDGET.set(_Budget())
    try:
        yield
    finally:
        _BUDGET.reset(token)
