"""The sandbox's filters, each wrapped so that a result that could grow too long is refused first.

The pre-checks below work out a filter's result size from its operands before it runs (using
``limits``); every filter also ticks the render's deadline and charges what it built. ``format``,
``urlize`` and ``pprint`` are not available at all.
"""
from __future__ import annotations

import functools

from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter
from jinja2.utils import _PassArg

from messaging.rendering.limits import (
    MAX_OUTPUT,
    built,
    check_text,
    joined_size,
    replaced_size,
    tick,
    too_long,
    too_many,
)


def _arg(args, kwargs, index: int, name: str, default=None):
    return args[index] if len(args) > index else kwargs.get(name, default)


# Pre-checks of the filters whose result can be much longer than their input. Each gets the value,
# the other positional arguments and the keywords, and returns them (join reads a generator once and
# passes the list on). The sizes are worked out from the operands, before anything is allocated.
def _check_join(environment, value, args, kwargs):
    # Its attribute lookups go through the sandbox it runs in, like the filter's own would.
    items = list(value)
    attribute = _arg(args, kwargs, 1, "attribute")
    if attribute is not None:
        getter = make_attrgetter(environment, attribute)
        items = [getter(item) for item in items]
        args, kwargs = args[:1], {k: v for k, v in kwargs.items() if k != "attribute"}
    separator = _arg(args, kwargs, 0, "d", "")
    check_text(separator)
    if joined_size(str(separator), items) > MAX_OUTPUT:
        raise too_long()
    return items, args, kwargs


def _check_replace(value, args, kwargs):
    old, new = _arg(args, kwargs, 0, "old", ""), _arg(args, kwargs, 1, "new", "")
    check_text(old)
    check_text(new)
    if replaced_size(str(value), str(old), str(new), _arg(args, kwargs, 2, "count")) > MAX_OUTPUT:
        raise too_long()
    return value, args, kwargs


def _check_center(value, args, kwargs):
    width = _arg(args, kwargs, 0, "width", 80)
    if isinstance(width, int) and width > MAX_OUTPUT:
        raise too_long()
    return value, args, kwargs


def _check_indent(value, args, kwargs):
    width = _arg(args, kwargs, 0, "width", 4)
    check_text(width)
    step = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    text = str(value)
    if len(text) + (text.count("\n") + 1) * max(step, 0) > MAX_OUTPUT:
        raise too_long()
    return value, args, kwargs


def _check_wordwrap(value, args, kwargs):
    width, wrap = _arg(args, kwargs, 0, "width", 79), _arg(args, kwargs, 2, "wrapstring")
    check_text(wrap)
    text = str(value)
    if isinstance(width, int) and width > 0:
        breaks = min(len(text), len(text) // width + len(text.split()) + text.count("\n"))
        if len(text) + breaks * (1 if wrap is None else len(str(wrap))) > MAX_OUTPUT:
            raise too_long()
    return value, args, kwargs


def _check_batch(value, args, kwargs):
    size = _arg(args, kwargs, 0, "linecount", 1)
    if _arg(args, kwargs, 1, "fill_with") is not None and isinstance(size, int) and size > MAX_OUTPUT:
        raise too_many()
    return value, args, kwargs


def _check_slice(value, args, kwargs):
    slices = _arg(args, kwargs, 0, "slices", 1)
    if isinstance(slices, int) and slices > MAX_OUTPUT:
        raise too_many()
    return value, args, kwargs


def _check_sum(value, args, kwargs):
    # Adding lists is quadratic and builds a new list at every step.
    if not isinstance(_arg(args, kwargs, 1, "start", 0), int | float):
        raise SecurityError("sum adds up numbers only")
    return value, args, kwargs


_FILTER_CHECKS = {"replace": _check_replace, "center": _check_center, "indent": _check_indent,
                  "wordwrap": _check_wordwrap, "batch": _check_batch, "slice": _check_slice, "sum": _check_sum}
# Filters that work on a list or a number as it is; every other filter turns its value into text
# first, so a list that would print longer than MAX_OUTPUT is refused before that happens.
_STRUCTURE_FILTERS = frozenset({
    "abs", "attr", "batch", "count", "d", "default", "dictsort", "first", "float", "groupby", "int",
    "items", "join", "last", "length", "list", "map", "max", "min", "random", "reject", "rejectattr",
    "reverse", "round", "select", "selectattr", "slice", "sort", "sum", "unique"})
# Not needed in a message and hard to bound: urlize multiplies its target and rel per link, pprint
# indents nested lists quadratically, and format's width specifiers would dodge the literal cap.
DROPPED_FILTERS = ("format", "urlize", "pprint")


def _bounded_filter(name: str, func, check):
    offset = 0 if _PassArg.from_obj(func) is None else 1
    structural = name in _STRUCTURE_FILTERS

    @functools.wraps(func)  # keeps jinja_pass_arg, so Jinja still passes the context it asks for
    def bounded(*args, **kwargs):
        tick()
        if len(args) > offset:
            value, rest = args[offset], args[offset + 1:]
            if not structural and not isinstance(value, str):
                check_text(value)
            if check is not None:
                value, rest, kwargs = check(value, rest, kwargs)
            args = (*args[:offset], value, *rest)
        return built(func(*args, **kwargs))

    return bounded


def bounded_filters(environment, filters: dict) -> dict:
    """``environment``'s filters without the dropped ones, each checked before it runs."""
    checks = {**_FILTER_CHECKS, "join": functools.partial(_check_join, environment)}
    return {name: _bounded_filter(name, func, checks.get(name)) for name, func in filters.items()
            if name not in DROPPED_FILTERS}
