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
template's author; ``messaging.rendering.text`` turns it into a ValidationFailed naming the line.
The bounds and the size arithmetic are in ``limits``, the wrapped filters in ``filters``; this
module is the environment that routes every operation through them. None of them knows of fields
or contacts: only of values and their sizes.
"""
from __future__ import annotations

import operator

from jinja2 import StrictUndefined, nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace

from messaging.rendering.filters import bounded_filters
from messaging.rendering.limits import (
    MAX_OUTPUT,
    REPEATABLE,
    TEXT,
    built,
    capped_range,
    check_number,
    check_text,
    check_text_method,
    text_size,
    tick,
    too_long,
    too_many,
)


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
            tick()
            yield item


def _finalize(value):
    """Every ``{{ … }}`` on its way to text: a list that would print too long is refused first."""
    tick()
    if not isinstance(value, str):
        check_text(value)
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
        self.globals = {"range": capped_range, "dict": dict, "namespace": Namespace}
        self.filters = bounded_filters(self, self.filters)

    def concat(self, parts) -> str:
        """Join a ``{% set %}`` or ``{% filter %}`` block's output, refusing it once it gets too long."""
        kept, size = [], 0
        for part in parts:
            size += len(part)
            if size > MAX_OUTPUT:
                raise too_long()
            kept.append(part)
        return built("".join(kept))

    def bounded_concat(self, parts: tuple) -> str:
        """``a ~ b ~ c``, its length worked out from the parts before it is built."""
        tick()
        size = 0
        for part in parts:
            size += text_size(part, MAX_OUTPUT - size)
            if size > MAX_OUTPUT:
                raise too_long()
        return built("".join(map(str, parts)))

    def ticking(self, iterable) -> _Ticking:
        return _Ticking(iterable)

    def getattr(self, obj, attribute):
        tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        tick()
        return super().getitem(obj, argument)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - the sandbox's own signature
        tick()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, TEXT):
            args = check_text_method(owner, getattr(__obj, "__name__", ""), args, kwargs)
        return built(super().call(__context, __obj, *args, **kwargs))

    def call_binop(self, context, op, left, right):
        tick()
        if op == "%" and isinstance(left, TEXT):
            raise SecurityError("%-formatting is not available; write {{ field }} instead")
        if op == "*" and isinstance(left, REPEATABLE) != isinstance(right, REPEATABLE):
            sequence, count = (left, right) if isinstance(left, REPEATABLE) else (right, left)
            if isinstance(count, int) and len(sequence) * max(count, 0) > MAX_OUTPUT:
                raise too_long() if isinstance(sequence, TEXT) else too_many()
            return built(operator.mul(left, right))
        if op == "+" and isinstance(left, REPEATABLE) and isinstance(right, REPEATABLE):
            if len(left) + len(right) > MAX_OUTPUT:
                raise too_long() if isinstance(left, TEXT) else too_many()
            return built(operator.add(left, right))
        if op == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise SecurityError("powers above 64 are not allowed")
        result = self.binop_table[op](left, right)
        return result if op == "+" else check_number(result)


SANDBOX = _HardenedSandbox()
