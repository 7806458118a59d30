"""Segments: a list with counts, a builder form (nobody types JSON) with a live count, edit, delete.

The builder is a plain form of condition rows, named ``conditions-N-…`` (and ``conditions-N-
conditions-M-…`` inside a group), so it works without JavaScript: "Add condition", "Add group",
"Remove" and "Count" are submit buttons the server handles. static/segments.js does the same on
the page (cloning the row templates) and asks ``/admin/segments/preview`` for the live count. The
view turns rows into the core's rule and the core's errors (keyed ``rule.conditions.2.op``) back
into messages under the rows they concern.
"""
from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_admin import Admin, expose

from messaging.audience import segments as segment_core
from messaging.audience.segment_rules import CONSENT_CHOICES, CONTACT_COLUMNS, OPS, VALUELESS_OPS
from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import Segment

from .base import SecureView, current_actor
from .core_calls import run_core
from .lookup import get_or_404
from .widgets import confirm_page

KINDS = (("tag", "Has tag"), ("lacks_tag", "Lacks tag"), ("field", "Form field"), ("contact", "Contact column"),
         ("consent", "Consent"), ("opted_out", "Opted out of SMS"))
OP_LABELS = {"eq": "is", "ne": "is not", "contains": "contains", "gt": "is more than", "lt": "is less than",
             "before": "is before", "after": "is after", "exists": "is filled in", "not_exists": "is missing"}
COLUMN_LABELS = {"language": "Language", "timezone": "Time zone", "created_at": "Added on",
                 "date_of_birth": "Date of birth"}
CHANNEL_LABELS = {"sms": "SMS", "email": "E-mail", "voice": "Voice"}
ROW = re.compile(r"^conditions-(\d+)-kind$")
NESTED_ROW = re.compile(r"^(conditions-\d+)-conditions-(\d+)-kind$")
MAX_ROWS = 100  # a form with more rows than a rule may hold is refused by the core anyway


@dataclass
class Row:
    """One condition row of the builder as the person filled it in (a group holds rows of its own)."""

    prefix: str
    kind: str = "tag"
    tag: str = ""
    field: str = ""
    column: str = "language"
    op: str = "eq"
    value: str = ""
    consent: str = "sms:marketing"
    consent_state: str = "granted"
    opted_out: str = "yes"
    match: str = "all"
    rows: list[Row] = dataclasses.field(default_factory=list)  # a group's rows

    @classmethod
    def from_form(cls, form, prefix: str) -> Row:
        def get(name: str, default: str = "") -> str:
            return form.get(f"{prefix}-{name}", default).strip()
        return cls(prefix=prefix, kind=get("kind", "tag"), tag=get("tag"), field=get("field"),
                   column=get("column", "language"), op=get("op", "eq"), value=get("value"),
                   consent=get("consent", "sms:marketing"), consent_state=get("consent_state", "granted"),
                   opted_out=get("opted_out", "yes"), match=get("match", "all"))

    @classmethod
    def from_condition(cls, prefix: str, condition: dict) -> Row:
        if "conditions" in condition:
            return cls(prefix=prefix, kind="group", match=condition.get("match", "all"),
                       rows=[cls.from_condition(f"{prefix}-conditions-{i}", c)
                             for i, c in enumerate(condition["conditions"])])
        if "tag" in condition:
            return cls(prefix=prefix, kind="lacks_tag" if condition.get("negate") else "tag", tag=condition["tag"])
        if "consent" in condition:
            return cls(prefix=prefix, kind="consent", consent=condition["consent"],
                       consent_state="not_granted" if condition.get("negate") else "granted")
        if "opted_out" in condition:
            return cls(prefix=prefix, kind="opted_out", opted_out="yes" if condition["opted_out"] else "no")
        value = condition.get("value")
        text = "" if value is None else json.dumps(value) if isinstance(value, bool) else str(value)
        name = condition.get("field", "")
        if name.startswith("contact."):
            return cls(prefix=prefix, kind="contact", column=name.removeprefix("contact."), op=condition["op"],
                       value=text)
        return cls(prefix=prefix, kind="field", field=name, op=condition.get("op", "eq"), value=text)

    def condition(self) -> dict:
        """The rule's condition for this row (the core checks it)."""
        if self.kind == "group":
            return {"match": self.match, "conditions": [row.condition() for row in self.rows]}
        if self.kind in ("tag", "lacks_tag"):
            return {"tag": self.tag, "negate": True} if self.kind == "lacks_tag" else {"tag": self.tag}
        if self.kind == "consent":
            return {"consent": self.consent, "negate": self.consent_state == "not_granted"}
        if self.kind == "opted_out":
            return {"opted_out": self.opted_out != "no"}
        if self.kind in ("field", "contact"):
            name = f"contact.{self.column}" if self.kind == "contact" else self.field
            condition = {"field": name, "op": self.op}
            if self.op not in VALUELESS_OPS:
                condition["value"] = self.value
            return condition
        return {"kind": self.kind}  # the core says what is wrong with it


@dataclass
class Builder:
    """The whole form: name, match, rows; and the messages to show (by row prefix, or ``name``/``match``)."""

    name: str = ""
    match: str = "all"
    rows: list[Row] = dataclasses.field(default_factory=lambda: [Row(prefix="conditions-0")])
    errors: dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_form(cls, form) -> Builder:
        top = sorted({int(m[1]) for key in form if (m := ROW.match(key))})[:MAX_ROWS]
        nested: dict[str, list[int]] = {}
        for key in form:
            if m := NESTED_ROW.match(key):
                nested.setdefault(m[1], []).append(int(m[2]))
        rows = []
        for index in top:
            row = Row.from_form(form, f"conditions-{index}")
            if row.kind == "group":
                row.rows = [Row.from_form(form, f"{row.prefix}-conditions-{i}")
                            for i in sorted(set(nested.get(row.prefix, [])))[:MAX_ROWS]]
            rows.append(row)
        return cls(name=form.get("name", "").strip(), match=form.get("match", "all"), rows=rows)

    @classmethod
    def from_segment(cls, segment: Segment) -> Builder:
        rule = segment.rule or {}
        return cls(name=segment.name, match=rule.get("match", "all"),
                   rows=[Row.from_condition(f"conditions-{i}", c) for i, c in enumerate(rule.get("conditions", []))])

    def rule(self) -> dict:
        return {"match": self.match, "conditions": [row.condition() for row in self.rows]}

    def place_errors(self, fields: dict[str, str]) -> None:
        """The core's errors (``name``, ``rule.conditions.2.op``) under the rows and inputs they concern."""
        where = {}
        for i, row in enumerate(self.rows):
            where[f"rule.conditions.{i}"] = row.prefix
            for j, child in enumerate(row.rows):
                where[f"rule.conditions.{i}.conditions.{j}"] = child.prefix
            where[f"rule.conditions.{i}.conditions"] = row.prefix
            where[f"rule.conditions.{i}.match"] = row.prefix
        for path, message in fields.items():
            parts = path.split(".")
            target = next((where[".".join(parts[:n])] for n in range(len(parts), 0, -1)
                           if ".".join(parts[:n]) in where), None)
            if target is None:
                target = {"name": "name", "rule.match": "match"}.get(path, "rule")
            text = _sentence(path, message)
            self.errors[target] = f"{self.errors[target]} {text}" if target in self.errors else text

    def apply(self, action: str) -> None:
        """What the no-JavaScript buttons do: add a row or a group, add a row to a group, remove a row."""
        def next_prefix(rows: list[Row], base: str) -> str:
            used = [int(r.prefix.rsplit("-", 1)[1]) for r in rows]
            return f"{base}conditions-{max(used, default=-1) + 1}"
        if action == "add":
            self.rows.append(Row(prefix=next_prefix(self.rows, "")))
        elif action == "add_group":
            prefix = next_prefix(self.rows, "")
            self.rows.append(Row(prefix=prefix, kind="group", rows=[Row(prefix=f"{prefix}-conditions-0")]))
        elif action.startswith("add_to:"):
            for row in self.rows:
                if row.prefix == action.removeprefix("add_to:"):
                    row.rows.append(Row(prefix=next_prefix(row.rows, f"{row.prefix}-")))
        elif action.startswith("remove:"):
            gone = action.removeprefix("remove:")
            self.rows = [r for r in self.rows if r.prefix != gone]
            for row in self.rows:
                row.rows = [r for r in row.rows if r.prefix != gone]


def _sentence(path: str, message: str) -> str:
    if path == "rule.conditions":
        return f"The rule {message}."
    what = path.rsplit(".", 1)[-1]
    labels = {"tag": "The tag", "field": "The field name", "op": "The operator", "value": "The value",
              "consent": "The consent", "opted_out": "Opted out", "conditions": "The group", "match": "Match",
              "name": "The name", "negate": "The choice"}
    label = labels.get(what, "This condition")
    return f"{label} {message}." if not message.endswith(".") else f"{label} {message}"


def describe(rule: dict) -> str:
    """A rule in words, for the list: "has tag vip and visits is more than 5"."""
    def one(condition: dict) -> str:
        if "conditions" in condition:
            return "(" + describe(condition) + ")"
        if "tag" in condition:
            return f"{'lacks' if condition.get('negate') else 'has'} tag {condition['tag']}"
        if "consent" in condition:
            channel, purpose = condition["consent"].split(":")
            state = "not granted" if condition.get("negate") else "granted"
            return f"{CHANNEL_LABELS.get(channel, channel)} {purpose} consent {state}"
        if "opted_out" in condition:
            return "opted out of SMS" if condition["opted_out"] else "not opted out of SMS"
        name = condition["field"]
        name = COLUMN_LABELS.get(name.removeprefix("contact."), name).lower() if name.startswith("contact.") else name
        value = f" {condition['value']}" if "value" in condition else ""
        return f"{name} {OP_LABELS.get(condition['op'], condition['op'])}{value}"
    joiner = " and " if rule.get("match") == "all" else " or "
    return joiner.join(one(c) for c in rule.get("conditions", []))


def _sample(rule) -> list[dict]:
    return [{"id": c.id, "name": c.full_name or f"Contact {c.id}", "url": url_for("contacts.details_view", id=c.id)}
            for c in segment_core.matching_contacts(rule)]


def preview_of(builder: Builder, quiet: bool = False) -> dict:
    """The live panel's content: count and sample, or the problems that stop counting (placed on the
    builder unless ``quiet``: a blank new form is not wrong yet)."""
    try:
        rule = builder.rule()
        count = segment_core.count_matching(rule)
        return {"count": count, "sample": _sample(rule) if count else []}
    except ValidationFailed as exc:
        if not quiet:
            builder.place_errors({k: v for k, v in exc.fields.items() if k != "name"})
        return {"count": None, "sample": []}


def builder_context(builder: Builder, preview: dict) -> dict:
    return {"builder": builder, "preview": preview, "kinds": KINDS, "ops": [(op, OP_LABELS[op]) for op in OPS],
            "columns": [(c.removeprefix("contact."), COLUMN_LABELS[c.removeprefix("contact.")])
                        for c in CONTACT_COLUMNS],
            "column_ops": json.dumps({c.removeprefix("contact."): ops for c, ops in CONTACT_COLUMNS.items()}),
            "consents": [(c, f"{CHANNEL_LABELS[c.split(':')[0]]} {c.split(':')[1]}") for c in CONSENT_CHOICES],
            "known_tags": segment_core.known_tags(), "known_fields": segment_core.known_field_names(),
            "valueless_ops": VALUELESS_OPS, "blank": Row(prefix="__prefix__"),
            "blank_group": Row(prefix="__prefix__", kind="group", rows=[Row(prefix="__prefix__-conditions-0")])}


class SegmentsView(SecureView):
    def _segment(self, segment_id: int) -> Segment:
        return get_or_404(Segment, segment_id)

    @expose("/")
    def index(self):
        rows = [{"segment": s, "count": _count_or_none(s.rule), "summary": describe(s.rule or {})}
                for s in segment_core.list_segments()]
        return self.render("console/segment_index.html", rows=rows)

    def _builder_page(self, builder: Builder, segment: Segment | None, status: int = 200, quiet: bool = False):
        preview = preview_of(builder, quiet=quiet)
        return self.render("console/segment_form.html", segment=segment,
                           **builder_context(builder, preview)), status

    def _submit(self, segment: Segment | None):
        builder = Builder.from_form(request.form)
        action = request.form.get("action", "save")
        if action != "save":
            builder.apply(action)
            return self._builder_page(builder, segment)
        with run_core(flash_error=False) as call:
            if segment is None:
                segment = saved = segment_core.create_segment(current_actor(), builder.name, builder.rule())
            else:
                segment_core.update_segment(current_actor(), segment, name=builder.name, rule=builder.rule())
                saved = segment
            name, count = saved.name, segment_core.count_matching(saved.rule)
        if call.failed:
            builder.place_errors(call.fields)
            flash("The segment was not saved: " + "; ".join(builder.errors.values()), "error")
            return self._builder_page(builder, segment, 422)
        flash(f"Segment '{name}' saved: {count:,} contact{'s' if count != 1 else ''} match now.", "success")
        return redirect(self.get_url(".index"))

    @expose("/new", methods=("GET", "POST"))
    def create(self):
        if request.method == "GET":
            return self._builder_page(Builder(), None, quiet=True)
        return self._submit(None)

    @expose("/<int:segment_id>/edit", methods=("GET", "POST"))
    def edit(self, segment_id: int):
        segment = self._segment(segment_id)
        if request.method == "GET":
            return self._builder_page(Builder.from_segment(segment), segment)
        return self._submit(segment)

    @expose("/<int:segment_id>/delete", methods=("GET", "POST"))
    def delete(self, segment_id: int):
        segment = self._segment(segment_id)
        if request.method == "GET":
            return confirm_page(self, f"Delete segment '{segment.name}'?",
                                "The segment's rule is deleted; its contacts are not touched. This cannot be undone.",
                                self.get_url(".delete", segment_id=segment.id), "Delete segment",
                                self.get_url(".index"))
        name = segment.name
        with run_core() as call:
            segment_core.delete_segment(current_actor(), segment)
        if not call.failed:
            flash(f"Segment '{name}' deleted.", "success")
        return redirect(self.get_url(".index"))

    @expose("/preview", methods=("POST",))
    def preview(self):
        """The live count as JSON for static/segments.js. Writes nothing."""
        builder = Builder.from_form(request.form)
        preview = preview_of(builder)
        html = render_template("console/segment_preview.html", preview=preview)
        db.session.rollback()  # nothing a preview touched may reach the database
        return jsonify({**preview, "errors": builder.errors, "html": html})


def _count_or_none(rule) -> int | None:
    try:
        return segment_core.count_matching(rule)
    except ValidationFailed:  # a stored rule the grammar no longer accepts: shown, not counted
        return None


def register(admin: Admin) -> None:
    admin.add_view(SegmentsView(name="Segments", endpoint="segments", url="segments"))
