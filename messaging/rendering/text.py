"""Rendering of template bodies and secure notices in Jinja's sandbox, hardened.

Jinja's sandbox stops attribute escapes (``''.__class__.__mro__``) at run time, but it does not
refuse them up front. So every source is first parsed and walked (``check_source``): private and
interpreter attributes, includes, imports, macros, recursive or nested loops and huge number
literals are refused with the line. At run time the environment of ``messaging.rendering.sandbox``
bounds what a render may build and how long it may take, and the output is cut off at
``MAX_OUTPUT`` characters.

Every failure surfaces as ``ValidationFailed`` naming the field and the line; nothing else escapes
``render_text``.
"""
from __future__ import annotations

from functools import lru_cache

from flask_babel import gettext
from jinja2 import TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError

from messaging.errors import ValidationFailed
from messaging.rendering.limits import MAX_OUTPUT, RenderLimit, render_budget
from messaging.rendering.sandbox import SANDBOX

# The English built-in notice as a template source (what ``render_notice`` says without a text of
# its own; the translated built-in texts live in the catalogs).
DEFAULT_NOTICE = "{{ org_name }}: you have a new secure message. Open: {{ link }}"
NOTICE_FIELDS = ("org_name", "first_name", "link")

MAX_SOURCE = 20_000  # characters of template source
MAX_LITERAL = 10_000  # largest number literal

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
        tree = SANDBOX.parse(source)
    except TemplateSyntaxError as exc:
        raise _Problem(exc.lineno, exc.message or "syntax error") from None
    _walk(tree)
    return tree


@lru_cache(maxsize=512)
def _compiled(source: str):
    """Parse, check and compile once per distinct source (a broadcast renders one template many times)."""
    tree = _parse(source)
    try:
        return SANDBOX.from_string(tree)
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
    try:
        with render_budget():
            for chunk in template.generate(**context):
                size += len(chunk)
                if size > MAX_OUTPUT:
                    raise _Problem(None, f"the text would be longer than {MAX_OUTPUT:,} characters")
                parts.append(chunk)
    except _Problem as problem:
        raise _invalid(problem, field) from None
    except RenderLimit as exc:
        raise _invalid(_Problem(_template_line(exc), str(exc)), field) from None
    except UndefinedError as exc:
        raise _invalid(_Problem(_template_line(exc), f"unknown field: {exc.message}"), field) from None
    except SecurityError as exc:
        raise _invalid(_Problem(_template_line(exc), f"refused: {exc}"), field) from None
    except RecursionError:
        raise _invalid(_Problem(None, "the template nests too deeply"), field) from None
    except Exception as exc:  # noqa: BLE001 - any runtime failure of an author's template is their input error
        raise _invalid(_Problem(_template_line(exc), f"{exc.__class__.__name__}: {exc}"), field) from None
    return "".join(parts)


def render_notice(org_name: str, first_name: str | None, link: str, notice_template: str | None = None) -> str:
    """The generic text of a secure notification: organisation, first name and link — nothing else.

    ``notice_template`` is the template's or the organisation's own text (the caller picks, see
    ``outgoing.notice_source``); without one, the built-in text in the current language.
    """
    if not notice_template:
        return gettext("%(org)s: you have a new secure message. Open: %(link)s", org=org_name, link=link)
    return render_text(notice_template, {"org_name": org_name, "first_name": first_name or "", "link": link},
                       field="notification_text")


def voice_notice_text(org_name: str, first_name: str | None) -> str:
    """What a call says for a secure message: that one is waiting, and that the link comes by SMS."""
    if first_name:
        return gettext("Hello %(name)s. This is %(org)s. You have a new secure message. "
                       "We have sent you a text message with a link to read it.", name=first_name, org=org_name)
    return gettext("Hello. This is %(org)s. You have a new secure message. "
                   "We have sent you a text message with a link to read it.", org=org_name)
