"""The hardened Jinja environment message templates render in: growth and time are bounded.

Capping a render's output alone does not stop a template from *building* a huge value it never
prints (a loop doubling a string, ``range(1000)|join('x' * 9000)``), and Python allocates it before
any cap on the output can look. So every operation that can make text or a list grow is checked
*before* it runs, from the sizes of its operands: ``~`` and ``+``, ``*``, the filters (``join``,
``replace``, ``center``, ``indent``, ``wordwrap``, ``batch``, ``slice``, …; ``format``, ``urlize``
and ``pprint`` are not available), string methods (``ljust``, ``replace``, ``join``,
``expandtabs``, …; ``translate`` is not available), ``{% set %}`` blocks and the turning of a list
into text. No single value may exceed ``MAX_OUTPUT`` characters (or items), and one render may
build at most ``MAX_BUILT`` in all. Each render also has a deadline (``MAX_SECONDS``), checked at
every loop iteration, call, filter, attribute lookup and intercepted operator, so no thread or
signal is needed: between two checks only one bounded operation runs. Jinja's compile-time
constant folding is off, because it would evaluate filters and ``~`` before any of these checks.

A render over a bound raises ``RenderLimit`` (a ``SecurityError``) with a message meant for the
template's author; ``messaging.rendering.text`` turns it into a ValidationFailed naming the line. This
module knows nothing of fields or contacts: only of values and their sizes.
"""
from __future__ import annotations

import functools
import operator
import time
from collections.abc import ItemsView, KeysView, ValuesView
from contextlib import contextmanager
from contextvars import ContextVar
from itertools import chain

from jinja2 import StrictUndefined, nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace, _PassArg

MAX_OUTPUT = 20_000  # characters a render may produce, and the largest value it may build
MAX_ITEMS = 1_000  # items in a range()
MAX_NUMBER = 1_000_000  # largest result of * and **
MAX_BUILT = 1_000_000  # characters (and list items) one render may build in all, intermediate values included
MAX_SECONDS = 1.0  # wall-clock time one render may take


class RenderLimit(SecurityError):
    """A render went over one of its bounds; the message is meant for the template's author."""


def _too_long() -> RenderLimit:
    return RenderLimit(f"This template would build text longer than {MAX_OUTPUT:,} characters")


def _too_many() -> RenderLimit:
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


def _tick() -> None:
    budget = _BUDGET.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise RenderLimit(f"This template took too long to render (more than {MAX_SECONDS:g} s)")


_END = object()
_TEXT = (str, bytes, bytearray)
_REPEATABLE = (str, bytes, bytearray, list, tuple)
_CONTAINERS = (list, tuple, set, frozenset, dict)
_VIEWS = (list, tuple, set, frozenset, KeysView, ValuesView, ItemsView)


def _text_size(value, limit: int = MAX_OUTPUT) -> int:
    """About how long ``str(value)`` would be, counted only until it passes ``limit``.

    One iterator per level rather than copies of the containers: a list of many references to one
    long list costs a step per item looked at, and the walk stops as soon as the limit is passed.
    """
    if isinstance(value, _TEXT):
        return len(value)
    total, stack = 0, [iter((value,))]
    while stack and total <= limit:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
        elif isinstance(item, _TEXT):
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


def _check_text(value) -> None:
    if _text_size(value) > MAX_OUTPUT:
        raise _too_long()


def _built(value):
    """Charge a value an operation just made to the render; one over a cap is refused."""
    if isinstance(value, _TEXT + _CONTAINERS):
        size = len(value)
        if size > MAX_OUTPUT:
            raise _too_long() if isinstance(value, _TEXT) else _too_many()
        budget = _BUDGET.get()
        if budget is not None:
            budget.built += size
            if budget.built > MAX_BUILT:
                raise RenderLimit(f"This template would build more than {MAX_BUILT:,} characters in all")
    return value


def _capped_range(*args):
    span = range(*args)
    if len(span) > MAX_ITEMS:
        raise SecurityError(f"range() is limited to {MAX_ITEMS:,} items")
    return span


def _check_number(value):
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
        raise SecurityError(f"numbers above {MAX_NUMBER:,} are not allowed")
    return value


def _replaced_size(text, old, new, count) -> int:
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * (len(new) - len(old))


def _joined_size(separator, items: list) -> int:
    total = len(separator) * max(len(items) - 1, 0)
    for item in items:
        if total > MAX_OUTPUT:
            break
        total += _text_size(item, MAX_OUTPUT - total)
    return total


def _arg(args, kwargs, index: int, name: str, default=None):
    return args[index] if len(args) > index else kwargs.get(name, default)


# Pre-checks of the filters whose result can be much longer than their input. Each gets the value,
# the other positional arguments and the keywords, and returns them (join reads a generator once and
# passes the list on). The sizes are worked out from the operands, before anything is allocated.
def _check_join(value, args, kwargs):
    items = list(value)
    attribute = _arg(args, kwargs, 1, "attribute")
    if attribute is not None:
        getter = make_attrgetter(SANDBOX, attribute)
        items = [getter(item) for item in items]
        args, kwargs = args[:1], {k: v for k, v in kwargs.items() if k != "attribute"}
    separator = _arg(args, kwargs, 0, "d", "")
    _check_text(separator)
    if _joined_size(str(separator), items) > MAX_OUTPUT:
        raise _too_long()
    return items, args, kwargs


def _check_replace(value, args, kwargs):
    old, new = _arg(args, kwargs, 0, "old", ""), _arg(args, kwargs, 1, "new", "")
    _check_text(old)
    _check_text(new)
    if _replaced_size(str(value), str(old), str(new), _arg(args, kwargs, 2, "count")) > MAX_OUTPUT:
        raise _too_long()
    return value, args, kwargs


def _check_center(value, args, kwargs):
    width = _arg(args, kwargs, 0, "width", 80)
    if isinstance(width, int) and width > MAX_OUTPUT:
        raise _too_long()
    return value, args, kwargs


def _check_indent(value, args, kwargs):
    width = _arg(args, kwargs, 0, "width", 4)
    _check_text(width)
    step = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    text = str(value)
    if len(text) + (text.count("\n") + 1) * max(step, 0) > MAX_OUTPUT:
        raise _too_long()
    return value, args, kwargs


def _check_wordwrap(value, args, kwargs):
    width, wrap = _arg(args, kwargs, 0, "width", 79), _arg(args, kwargs, 2, "wrapstring")
    _check_text(wrap)
    text = str(value)
    if isinstance(width, int) and width > 0:
        breaks = min(len(text), len(text) // width + len(text.split()) + text.count("\n"))
        if len(text) + breaks * (1 if wrap is None else len(str(wrap))) > MAX_OUTPUT:
            raise _too_long()
    return value, args, kwargs


def _check_batch(value, args, kwargs):
    size = _arg(args, kwargs, 0, "linecount", 1)
    if _arg(args, kwargs, 1, "fill_with") is not None and isinstance(size, int) and size > MAX_OUTPUT:
        raise _too_many()
    return value, args, kwargs


def _check_slice(value, args, kwargs):
    slices = _arg(args, kwargs, 0, "slices", 1)
    if isinstance(slices, int) and slices > MAX_OUTPUT:
        raise _too_many()
    return value, args, kwargs


def _check_sum(value, args, kwargs):
    # Adding lists is quadratic and builds a new list at every step.
    if not isinstance(_arg(args, kwargs, 1, "start", 0), int | float):
        raise SecurityError("sum adds up numbers only")
    return value, args, kwargs


_FILTER_CHECKS = {"join": _check_join, "replace": _check_replace, "center": _check_center,
                  "indent": _check_indent, "wordwrap": _check_wordwrap, "batch": _check_batch,
                  "slice": _check_slice, "sum": _check_sum}
# Filters that work on a list or a number as it is; every other filter turns its value into text
# first, so a list that would print longer than MAX_OUTPUT is refused before that happens.
_STRUCTURE_FILTERS = frozenset({
    "abs", "attr", "batch", "count", "d", "default", "dictsort", "first", "float", "groupby", "int",
    "items", "join", "last", "length", "list", "map", "max", "min", "random", "reject", "rejectattr",
    "reverse", "round", "select", "selectattr", "slice", "sort", "sum", "unique"})
# Not needed in a message and hard to bound: urlize multiplies its target and rel per link, pprint
# indents nested lists quadratically, and format's width specifiers would dodge the literal cap.
_DROPPED_FILTERS = ("format", "urlize", "pprint")


def _bounded_filter(name: str, func):
    offset = 0 if _PassArg.from_obj(func) is None else 1
    check = _FILTER_CHECKS.get(name)
    structural = name in _STRUCTURE_FILTERS

    @functools.wraps(func)  # keeps jinja_pass_arg, so Jinja still passes the context it asks for
    def bounded(*args, **kwargs):
        _tick()
        if len(args) > offset:
            value, rest = args[offset], args[offset + 1:]
            if not structural and not isinstance(value, str):
                _check_text(value)
            if check is not None:
                value, rest, kwargs = check(value, rest, kwargs)
            args = (*args[:offset], value, *rest)
        return _built(func(*args, **kwargs))

    return bounded


def _check_text_method(owner, name: str, args: tuple, kwargs: dict) -> tuple:
    """Refuse a str or bytes method call whose result would be too long; returns the arguments to use."""
    if name in ("center", "ljust", "rjust", "zfill"):
        if args and isinstance(args[0], int) and args[0] > MAX_OUTPUT:
            raise _too_long()
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        tab = "\t" if isinstance(owner, str) else b"\t"
        if isinstance(size, int) and len(owner) + owner.count(tab) * max(size, 0) > MAX_OUTPUT:
            raise _too_long()
    elif name == "replace" and len(args) >= 2:
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        if _replaced_size(owner, args[0], args[1], count) > MAX_OUTPUT:
            raise _too_long()
    elif name == "join" and args:
        items = list(args[0])
        if _joined_size(owner, [item if isinstance(item, _TEXT) else "" for item in items]) > MAX_OUTPUT:
            raise _too_long()
        args = (items, *args[1:])
    elif name == "translate":
        raise SecurityError("translate() is not available in message templates")
    return args


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator with ``~`` and every ``{% for %}`` routed through the sandbox's checks."""

    def visit_Concat(self, node: nodes.Concat, frame) -> None:
        self.write("environment.bounded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def visit_For(self, node: nodes.For, frame) -> None:
        ticking = nodes.Call(nodes.EnvironmentAttribute("ticking"), [node.iter], [], None, None, lineno=node.lineno)
        loop = nodes.For(node.target, ticking, node.body, node.else_, node.test, node.recursive, lineno=node.lineno)
        super().visit_For(loop.set_environment(self.environment), frame)


class _Ticking:
    """A loop's iterable that checks the render's deadline at every iteration."""

    def __init__(self, iterable):
        self._iterable = iterable

    def __len__(self):  # loop.length and loop.last without reading the iterable twice
        return len(self._iterable)

    def __iter__(self):
        for item in self._iterable:
            _tick()
            yield item


def _finalize(value):
    """Every ``{{ … }}`` on its way to text: a list that would print too long is refused first."""
    _tick()
    if not isinstance(value, str):
        _check_text(value)
    return value


class _HardenedSandbox(ImmutableSandboxedEnvironment):
    """Immutable sandbox in which everything that can make a value grow is checked before it runs."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})
    code_generator_class = _BoundedCodeGenerator

    def __init__(self):
        # optimized=False: constant folding would run filters and ``~`` at compile time, unchecked.
        super().__init__(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False,
                         optimized=False, finalize=_finalize)
        # lipsum, cycler and joiner are dropped: message templates do not need them.
        self.globals = {"range": _capped_range, "dict": dict, "namespace": Namespace}
        for name in _DROPPED_FILTERS:
            self.filters.pop(name, None)
        self.filters = {name: _bounded_filter(name, func) for name, func in self.filters.items()}

    def concat(self, parts) -> str:
        """Join a ``{% set %}`` or ``{% filter %}`` block's output, refusing it once it gets too long."""
        kept, size = [], 0
        for part in parts:
            size += len(part)
            if size > MAX_OUTPUT:
                raise _too_long()
            kept.append(part)
        return _built("".join(kept))

    def bounded_concat(self, parts: tuple) -> str:
        """``a ~ b ~ c``, its length worked out from the parts before it is built."""
        _tick()
        size = 0
        for part in parts:
            size += _text_size(part, MAX_OUTPUT - size)
            if size > MAX_OUTPUT:
                raise _too_long()
        return _built("".join(map(str, parts)))

    def ticking(self, iterable) -> _Ticking:
        return _Ticking(iterable)

    def getattr(self, obj, attribute):
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        _tick()
        return super().getitem(obj, argument)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - the sandbox's own signature
        _tick()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, _TEXT):
            args = _check_text_method(owner, getattr(__obj, "__name__", ""), args, kwargs)
        return _built(super().call(__context, __obj, *args, **kwargs))

    def call_binop(self, context, op, left, right):
        _tick()
        if op == "%" and isinstance(left, _TEXT):
            raise SecurityError("%-formatting is not available; write {{ field }} instead")
        if op == "*" and isinstance(left, _REPEATABLE) != isinstance(right, _REPEATABLE):
            sequence, count = (left, right) if isinstance(left, _REPEATABLE) else (right, left)
            if isinstance(count, int) and len(sequence) * max(count, 0) > MAX_OUTPUT:
                raise _too_long() if isinstance(sequence, _TEXT) else _too_many()
            return _built(operator.mul(left, right))
        if op == "+" and isinstance(left, _REPEATABLE) and isinstance(right, _REPEATABLE):
            if len(left) + len(right) > MAX_OUTPUT:
                raise _too_long() if isinstance(left, _TEXT) else _too_many()
            return _built(operator.add(left, right))
        if op == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise SecurityError("powers above 64 are not allowed")
        result = self.binop_table[op](left, right)
        return result if op == "+" else _check_number(result)


SANDBOX = _HardenedSandbox()


@contextmanager
def render_budget():
    """Give the render run inside this block its own deadline and building allowance."""
    token = _BUDGET.set(_Budget())
    try:
        yield
    finally:
        _BUDGET.reset(token)
