"""Rendering of template bodies and secure notices in Jinja's sandbox, hardened.

Jinja's sandbox stops attribute escapes (``''.__class__.__mro__``) at run time, but it does not
refuse them up front, and it does nothing about a template that builds a gigabyte string. So every
source is first parsed and walked (``check_source``): private and interpreter attributes, includes,
imports, macros, recursive or nested loops and huge number literals are refused with the line.
At run time ``range``, repetition (``*``), powers and ``%``-formatting are capped, and the output is
cut off at ``MAX_OUTPUT`` characters.

Capping the output alone does not stop a template from *building* a huge value it never prints
(a loop doubling a string, ``range(1000)|join('x' * 9000)``), and Python allocates it before any cap
on the output can look. So every operation that can make text or a list grow is checked *before*
it runs, from the sizes of its operands: ``~`` and ``+``, ``*``, the filters (``join``, ``replace``,
``center``, ``indent``, ``wordwrap``, ``batch``, ``slice``, …; ``format`` and ``urlize`` are not
available), string methods (``ljust``, ``replace``, ``join``, ``expandtabs``, ``translate``, …),
``{% set %}`` blocks and the turning of a list into text. No single value may exceed
``MAX_OUTPUT`` characters (or items), and one render may build at most ``MAX_BUILT`` in all. Each
render also has a deadline (``MAX_SECONDS``), checked at every loop iteration, call, filter,
attribute lookup and intercepted operator, so no thread or signal is needed: between two checks
only one bounded operation runs. Jinja's compile-time constant folding is off, because it would
evaluate filters and ``~`` before any of these checks.

Every failure surfaces as ``ValidationFailed`` naming the field and the line; nothing else escapes
``render_text``.
"""
from __future__ import annotations

import functools
import operator
import time
from collections.abc import ItemsView, KeysView, ValuesView
from contextvars import ContextVar
from functools import lru_cache
from itertools import chain

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace, _PassArg

from .errors import ValidationFailed

DEFAULT_NOTICE = "{{ org_name }}: you have a new secure message. Open: {{ link }}"
NOTICE_FIELDS = ("org_name", "first_name", "link")

MAX_SOURCE = 20_000  # characters of template source
MAX_OUTPUT = 20_000  # characters a render may produce
MAX_ITEMS = 1_000  # items in a range()
MAX_LITERAL = 10_000  # largest number literal
MAX_NUMBER = 1_000_000  # largest result of * and **
MAX_BUILT = 1_000_000  # characters (and list items) one render may build in all, intermediate values included
MAX_SECONDS = 1.0  # wall-clock time one render may take

# Names that only ever appear in sandbox escapes; refused wherever they occur (attribute, item, name).
UNSAFE_NAMES = frozenset({
    "mro", "subclasses", "globals", "builtins", "func_globals", "f_globals", "f_locals", "f_back",
    "f_builtins", "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "tb_frame",
    "tb_next", "co_code", "func_code", "im_func", "im_self", "format", "format_map", "self",
    "environment", "lipsum", "cycler", "joiner", "config", "request", "import", "eval", "exec",
})


class _Problem(Exception):
    """A template problem found before or during rendering: a line and a message."""

    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message

    def text(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class _Limit(SecurityError):
    """A render went over one of its bounds; the message is meant for the template's author."""


def _too_long() -> _Limit:
    return _Limit(f"This template would build text longer than {MAX_OUTPUT:,} characters")


def _too_many() -> _Limit:
    return _Limit(f"This template would build a list longer than {MAX_OUTPUT:,} items")


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
        raise _Limit(f"This template took too long to render (more than {MAX_SECONDS:g} s)")


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
                raise _Limit(f"This template would build more than {MAX_BUILT:,} characters in all")
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
        getter = make_attrgetter(_ENV, attribute)
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


_ENV = _HardenedSandbox()


def _refuse(node: nodes.Node, message: str):
    raise _Problem(getattr(node, "lineno", None), message)


def _walk(node: nodes.Node, loop_depth: int = 0) -> None:
    if isinstance(node, nodes.Include | nodes.Import | nodes.FromImport | nodes.Extends):
        _refuse(node, "includes, imports and extends are not available in message templates")
    if isinstance(node, nodes.Macro | nodes.CallBlock):
        _refuse(node, "macros are not available in message templates")
    if isinstance(node, nodes.Getattr) and _unsafe(node.attr):
        _refuse(node, f"'{node.attr}' is not allowed in templates")
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str) \
            and _unsafe(node.arg.value):
        _refuse(node, f"'{node.arg.value}' is not allowed in templates")
    if isinstance(node, nodes.Name) and _unsafe(node.name):
        _refuse(node, f"'{node.name}' is not allowed in templates")
    if isinstance(node, nodes.Filter | nodes.Test) and node.name in ("attr", "map", "selectattr", "rejectattr",
                                                                      "sort", "groupby", "unique", "sum",
                                                                      "min", "max"):
        for arg in (*node.args, *(kw.value for kw in node.kwargs)):
            if isinstance(arg, nodes.Const) and isinstance(arg.value, str) and any(
                    _unsafe(part) for part in arg.value.split(".")):
                _refuse(node, f"'{arg.value}' is not allowed in templates")
    if isinstance(node, nodes.Const) and isinstance(node.value, int | float) and not isinstance(node.value, bool) \
            and abs(node.value) > MAX_LITERAL:
        _refuse(node, f"numbers above {MAX_LITERAL:,} are not allowed")
    if isinstance(node, nodes.For):
        if node.recursive:
            _refuse(node, "recursive loops are not available in message templates")
        if loop_depth >= 1:
            _refuse(node, "a loop inside a loop is not available in message templates")
        for child in node.iter_child_nodes(exclude=("body", "else_")):
            _walk(child, loop_depth)
        for child in (*node.body, *node.else_):
            _walk(child, loop_depth + 1)
        return
    for child in node.iter_child_nodes():
        _walk(child, loop_depth)


def _unsafe(name: str) -> bool:
    return name.startswith("_") or name in UNSAFE_NAMES


def _parse(source: str) -> nodes.Template:
    if not isinstance(source, str):
        raise _Problem(None, "must be text")
    if len(source) > MAX_SOURCE:
        raise _Problem(None, f"must be at most {MAX_SOURCE:,} characters")
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise _Problem(exc.lineno, exc.message or "syntax error") from None
    _walk(tree)
    return tree


@lru_cache(maxsize=512)
def _compiled(source: str):
    """Parse, check and compile once per distinct source (a broadcast renders one template many times)."""
    tree = _parse(source)
    try:
        return _ENV.from_string(tree)
    except TemplateSyntaxError as exc:  # e.g. an unknown filter, found at compile time
        raise _Problem(exc.lineno, exc.message or "syntax error") from None


def _template_line(exc: BaseException) -> int | None:
    """The template line an error was raised on; Jinja rewrites its frames to '<template>'."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _invalid(problem: _Problem, field: str) -> ValidationFailed:
    return ValidationFailed(f"Template error in {field}: {problem.text()}", {field: problem.text()})


def check_source(source: str, field: str = "body") -> nodes.Template:
    """Parse and vet a template source without rendering it; returns the syntax tree.

    Raises ValidationFailed (``{field: "line 2: unexpected '}'"}``) for syntax errors and for
    anything the sandbox policy refuses.
    """
    try:
        _compiled(source)
        return _parse(source)
    except _Problem as problem:
        raise _invalid(problem, field) from None


def undeclared_names(tree: nodes.Template) -> dict[str, int | None]:
    """Top-level names a template reads from its context, each with the first line that uses it."""
    names = meta.find_undeclared_variables(tree)
    lines: dict[str, int | None] = dict.fromkeys(names)
    for node in tree.find_all(nodes.Name):
        if node.name in lines and lines[node.name] is None:
            lines[node.name] = node.lineno
    return lines


def body_context(contact, org_name: str) -> dict:
    """What a template body may use: the contact's names, the organisation, and form data."""
    form = dict(contact.form_data or {}) if contact is not None else {}
    return {
        "first_name": getattr(contact, "first_name", "") or "",
        "last_name": getattr(contact, "last_name", "") or "",
        "org_name": org_name,
        "form": form,
        **{k: v for k, v in form.items() if isinstance(k, str) and k.isidentifier()
           and k not in ("first_name", "last_name", "org_name", "form")},
    }


def render_text(source: str, context: dict, field: str = "body") -> str:
    """Render ``source``; a syntax error, unknown field or unsafe expression is a ValidationFailed."""
    try:
        template = _compiled(source)
    except _Problem as problem:
        raise _invalid(problem, field) from None
    parts, size = [], 0
    budget = _BUDGET.set(_Budget())
    try:
        for chunk in template.generate(**context):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise _Problem(None, f"the text would be longer than {MAX_OUTPUT:,} characters")
            parts.append(chunk)
    except _Problem as problem:
        raise _invalid(problem, field) from None
    except _Limit as exc:
        raise _invalid(_Problem(_template_line(exc), str(exc)), field) from None
    except UndefinedError as exc:
        raise _invalid(_Problem(_template_line(exc), f"unknown field: {exc.message}"), field) from None
    except SecurityError as exc:
        raise _invalid(_Problem(_template_line(exc), f"refused: {exc}"), field) from None
    except RecursionError:
        raise _invalid(_Problem(None, "the template nests too deeply"), field) from None
    except Exception as exc:  # noqa: BLE001 - any runtime failure of an author's template is their input error
        raise _invalid(_Problem(_template_line(exc), f"{exc.__class__.__name__}: {exc}"), field) from None
    finally:
        _BUDGET.reset(budget)
    return "".join(parts)


def render_notice(org_name: str, first_name: str | None, link: str, notice_template: str | None = None) -> str:
    """The generic text of a secure notification: organisation, first name and link — nothing else."""
    return render_text(notice_template or DEFAULT_NOTICE,
                       {"org_name": org_name, "first_name": first_name or "", "link": link},
                       field="notification_text")


def voice_notice_text(org_name: str, first_name: str | None) -> str:
    """What a call says for a secure message: that one is waiting, and that the link comes by SMS."""
    hello = f"Hello {first_name}. " if first_name else "Hello. "
    return (f"{hello}This is {org_name}. You have a new secure message. "
            "We have sent you a text message with a link to read it.")
