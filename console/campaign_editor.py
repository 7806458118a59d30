"""The campaign form's step editor: rows of steps named ``steps-N-…``, turned into the core's fields and back.

It works without JavaScript: "Add step", "Remove", "Up", "Down" and "Show decisions" are submit
buttons the server handles (``CampaignForm.apply``), and every render shows each step's decision
as it will apply. static/campaigns.js posts the form to ``/admin/campaigns/preview`` on every
change and swaps in the decisions. A delay is typed as an amount and a unit (minutes, hours,
days), before or after a date field for field-relative steps; the core gets minutes.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from messaging.models import EXIT_RULES

ROW = re.compile(r"^steps-(\d+)-template$")
MAX_ROWS = 20
UNITS = {"minutes": 1, "hours": 60, "days": 1440}
DELAY_KINDS = (("enrolment", "after enrolment"), ("previous", "after the previous step"),
               ("field", "relative to a date field"))
EXIT_LABELS = {"reply": "the contact replies (an SMS, or a reply on a reading page)",
               "view": "the contact reads one of its secure messages",
               "leave_segment": "the contact no longer matches the segment"}
PIN_VALUES = {"inherit": None, "true": True, "false": False}


@dataclass
class StepRow:
    """One step as the person filled it in (text, so a form with errors comes back as it was)."""

    prefix: str
    template: str = ""
    mode: str = "inherit"
    require_pin: str = "inherit"
    kind: str = "enrolment"
    amount: str = "0"
    unit: str = "days"
    direction: str = "before"
    field: str = ""

    @classmethod
    def from_form(cls, form, prefix: str) -> StepRow:
        def get(name: str, default: str = "") -> str:
            return form.get(f"{prefix}-{name}", default).strip()
        return cls(prefix=prefix, template=get("template"), mode=get("mode", "inherit"),
                   require_pin=get("require_pin", "inherit"), kind=get("kind", "enrolment"), amount=get("amount", "0"),
                   unit=get("unit", "days"), direction=get("direction", "before"), field=get("field"))

    def delay(self, errors: dict, index: int) -> dict | None:
        """The core's delay for this row; a problem the form can see goes to ``errors``."""
        if not (self.amount.isascii() and self.amount.isdigit()):
            errors[f"steps.{index}.delay.minutes"] = "enter a whole number, 0 or more"
            return None
        minutes = int(self.amount) * UNITS.get(self.unit, 1)
        if self.kind == "field":
            return {"field": self.field, "minutes": -minutes if self.direction == "before" else minutes}
        return {"after": self.kind, "minutes": minutes}

    def step(self, errors: dict, index: int) -> dict:
        return {"template": self.template, "mode": self.mode, "require_pin": PIN_VALUES.get(self.require_pin, "?"),
                "delay": self.delay(errors, index)}


@dataclass
class CampaignForm:
    """The whole form, and the messages to show (by row prefix, or by field name)."""

    name: str = ""
    segment_id: str = ""
    situation: str = ""
    mode: str = "inherit"
    require_pin: str = "inherit"
    recheck_daily: bool = False
    exit_on: list[str] = dataclasses.field(default_factory=list)
    override_reason: str = ""
    rows: list[StepRow] = dataclasses.field(default_factory=lambda: [StepRow(prefix="steps-0")])
    errors: dict[str, str] = dataclasses.field(default_factory=dict)
    seen: dict[str, str] = dataclasses.field(default_factory=dict)  # what the form itself could not read

    @classmethod
    def from_form(cls, form) -> CampaignForm:
        indexes = sorted({int(m[1]) for key in form if (m := ROW.match(key))})[:MAX_ROWS]
        return cls(name=form.get("name", "").strip(), segment_id=form.get("segment_id", "").strip(),
                   situation=form.get("situation", "").strip(), mode=form.get("mode", "inherit"),
                   require_pin=form.get("require_pin", "inherit"), recheck_daily=bool(form.get("recheck_daily")),
                   exit_on=[rule for rule in EXIT_RULES if rule in form.getlist("exit_on")],
                   override_reason=form.get("override_reason", ""),
                   rows=[StepRow.from_form(form, f"steps-{i}") for i in indexes])

    def core_fields(self) -> dict:
        """The keyword arguments of ``create_campaign``; problems the form sees itself are in ``self.seen``
        (keyed like the core's, ``steps.1.delay.minutes``)."""
        self.seen = {}
        steps = [row.step(self.seen, index) for index, row in enumerate(self.rows)]
        segment_id = int(self.segment_id) if self.segment_id.isascii() and self.segment_id.isdigit() else None
        return {"name": self.name, "segment_id": segment_id if segment_id and segment_id < 2**31 else None,
                "situation_key": self.situation or None, "mode": self.mode,
                "require_pin": PIN_VALUES.get(self.require_pin, "?"), "recheck_daily": self.recheck_daily,
                "exit_on": self.exit_on, "override_reason": self.override_reason.strip() or None, "steps": steps}

    def place_errors(self, fields: dict[str, str]) -> None:
        """The core's errors (``name``, ``steps.2.delay.minutes``) under the rows and inputs they concern; the
        form's own reading of a delay replaces what the core says of the delay it could not be given."""
        fields = {path: message for path, message in fields.items()
                  if not any(path.startswith(mine.rsplit(".", 1)[0]) for mine in self.seen)} | self.seen
        for path, message in fields.items():
            parts = path.split(".")
            target = path
            if parts[0] == "steps" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(self.rows):
                target = self.rows[int(parts[1])].prefix
                if message.startswith(("must", "is ")):  # "must be 0 or more" needs to say what must
                    message = f"{_label(parts[2:])} {message}"
            message = message[:1].upper() + message[1:]
            self.errors[target] = f"{self.errors[target]} {message}." if target in self.errors else f"{message}."

    def apply(self, action: str) -> None:
        """What the no-JavaScript buttons do: add a step, remove one, move one up or down."""
        prefixes = [row.prefix for row in self.rows]
        if action == "add_step" and len(self.rows) < MAX_ROWS:
            used = [int(p.rsplit("-", 1)[1]) for p in prefixes]
            self.rows.append(StepRow(prefix=f"steps-{max(used, default=-1) + 1}", kind="previous"))
            return
        verb, _, prefix = action.partition(":")
        if prefix not in prefixes:
            return
        index = prefixes.index(prefix)
        if verb == "remove":
            del self.rows[index]
        elif verb in ("up", "down"):
            other = index - 1 if verb == "up" else index + 1
            if 0 <= other < len(self.rows):
                self.rows[index], self.rows[other] = self.rows[other], self.rows[index]
        # Rows are numbered in order again, so the core's steps.N errors land on the row shown N-th.
        for number, row in enumerate(self.rows):
            row.prefix = f"steps-{number}"


def _label(parts: list[str]) -> str:
    where = ".".join(parts)
    return {"template": "The template", "mode": "Secure or standard", "require_pin": "The PIN",
            "delay": "The delay", "delay.minutes": "The delay", "delay.field": "The date field",
            "delay.after": "The delay"}.get(where, "This step")
