"""The four-level ladder for mode and PIN, and the warnings that come with a decision.

Pure tests: ``decide`` touches no database, so every combination of the levels is checked.
"""
import itertools

import pytest

from messaging.policy.decision import (
    LEVELS,
    Decision,
    LevelChoice,
    PolicyWarning,
    SituationRef,
    decide,
    pin_choice,
)

HEALTHCARE = SituationRef("healthcare", "Healthcare / HIPAA-adjacent (PHI)", "secure")
REMINDER = SituationRef("appointment_reminder", "Standard appointment reminder", "standard")
MARKETING = SituationRef("marketing", "General marketing", "standard_opt_in")

ABSENT = object()  # the level does not exist for this message (no template, no campaign)
MODE_VALUES = (ABSENT, "inherit", "secure", "standard")
PIN_VALUES = (ABSENT, None, True, False)


def _levels(values, attribute, other_default):
    """Keyword arguments for decide from (one_off, campaign_step, template) values."""
    kwargs = {}
    for level, value in zip(("one_off", "campaign_step", "template"), values, strict=True):
        if value is ABSENT:
            continue
        kwargs[level] = LevelChoice(**{attribute: value}, name=f"{level} name")
    return kwargs


def _expected(values, global_value, inherit_value):
    for level, value in zip(LEVELS, (*values, global_value), strict=True):
        if value is not ABSENT and value != inherit_value:
            return level, value
    raise AssertionError("unreachable")


@pytest.mark.parametrize("values", list(itertools.product(MODE_VALUES, repeat=3)),
                         ids=lambda v: "-".join("absent" if x is ABSENT else x for x in v))
@pytest.mark.parametrize("global_mode", ["secure", "standard"])
def test_the_most_specific_level_that_does_not_inherit_decides_the_mode(values, global_mode):
    decision = decide(default=LevelChoice(global_mode, True), **_levels(values, "mode", None))
    level, mode = _expected(values, global_mode, "inherit")
    assert decision.mode == mode
    assert decision.decided_by == level
    # Only the mode was set on the upper levels, so the global default decides the PIN.
    assert decision.pin_decided_by == "global"
    assert decision.require_pin is (mode == "secure")
    assert decision.reason.startswith(f"{mode} — set by ")


@pytest.mark.parametrize("values", list(itertools.product(PIN_VALUES, repeat=3)),
                         ids=lambda v: "-".join("absent" if x is ABSENT else str(x) for x in v))
@pytest.mark.parametrize("global_pin", [True, False])
def test_the_most_specific_level_that_does_not_inherit_decides_the_pin(values, global_pin):
    decision = decide(default=LevelChoice("secure", global_pin), **_levels(values, "require_pin", ABSENT))
    level, pin = _expected(values, global_pin, None)
    assert decision.require_pin is pin
    assert decision.pin_decided_by == level
    assert decision.decided_by == "global"
    assert decision.pin_method == ("contact_pin" if pin else None)


def test_mode_and_pin_are_decided_independently_on_the_same_ladder():
    # Every mix of mode and PIN on the three upper levels (4,096 of them), in one test.
    for combo in itertools.product(MODE_VALUES, PIN_VALUES, repeat=3):
        modes, pins = combo[0::2], combo[1::2]
        kwargs = {}
        for level, mode, pin in zip(("one_off", "campaign_step", "template"), modes, pins, strict=True):
            if mode is ABSENT and pin is ABSENT:
                continue
            kwargs[level] = LevelChoice("inherit" if mode is ABSENT else mode, None if pin is ABSENT else pin)
        decision = decide(default=LevelChoice("standard", False), **kwargs)
        mode_level, mode = _expected(modes, "standard", "inherit")
        pin_level, pin = _expected(pins, False, None)
        assert (decision.mode, decision.decided_by) == (mode, mode_level), combo
        assert decision.pin_decided_by == pin_level, combo
        # A standard message carries its content itself: there is nothing to put a PIN in front of.
        assert decision.require_pin is (pin if mode == "secure" else False), combo


def test_reason_names_the_template_that_decided():
    decision = decide(default=LevelChoice("standard", False),
                      template=LevelChoice("secure", True, name="Lab results"))
    assert decision.reason == "secure — set by template 'Lab results'"
    assert decide(default=LevelChoice("standard", False)).reason == "standard — set by the global default"
    assert decide(default=LevelChoice("secure", False),
                  one_off=LevelChoice("standard")).reason == "standard — set by this message"


def test_global_default_must_decide_both_mode_and_pin():
    with pytest.raises(ValueError):
        decide(default=LevelChoice("inherit", True))
    with pytest.raises(ValueError):
        decide(default=LevelChoice("secure", None))
    with pytest.raises(ValueError):
        LevelChoice("private")


def _codes(decision: Decision) -> set[str]:
    return {w.code for w in decision.warnings}


@pytest.mark.parametrize("level", ["one_off", "campaign_step", "template"])
def test_secure_recommended_situation_sent_standard_warns_and_names_the_level(level):
    decision = decide(default=LevelChoice("secure", True), situation=HEALTHCARE,
                      **{level: LevelChoice("standard")})
    assert decision.recommendation == "secure" and decision.situation == "healthcare"
    assert _codes(decision) == {"secure_recommended"}
    assert not decision.blocked
    [warning] = decision.warnings
    assert "Healthcare" in warning.message and "standard" in warning.message


def test_block_turns_the_mismatch_into_a_refusal():
    decision = decide(default=LevelChoice("standard", False), situation=HEALTHCARE, enforce="block")
    assert decision.blocked_by == ("secure_recommended",)
    assert decision.blocked


@pytest.mark.parametrize("enforce", ["warn", "block"])
def test_secure_or_standard_recommended_situations_sent_as_recommended_have_no_warning(enforce):
    assert not decide(default=LevelChoice("secure", True), situation=HEALTHCARE, enforce=enforce).warnings
    assert not decide(default=LevelChoice("standard", True), situation=REMINDER, enforce=enforce).warnings
    # Sending a standard-recommended situation secure is always allowed.
    assert not decide(default=LevelChoice("secure", True), situation=REMINDER, enforce=enforce).warnings


def test_portal_disabled_refuses_secure_but_not_standard():
    secure = decide(default=LevelChoice("secure", True), portal_enabled=False)
    assert secure.blocked_by == ("portal_disabled",) and _codes(secure) == {"portal_disabled"}
    standard = decide(default=LevelChoice("secure", True), one_off=LevelChoice("standard"), portal_enabled=False)
    assert not standard.blocked and not standard.warnings


def test_marketing_without_consent_warns_it_will_be_suppressed():
    decision = decide(default=LevelChoice("standard", False), situation=MARKETING, marketing_consent=False)
    assert decision.recommendation == "standard_opt_in"
    assert _codes(decision) == {"no_marketing_consent"}
    assert not decide(default=LevelChoice("standard", False), situation=MARKETING,
                      marketing_consent=True).warnings


def test_contact_without_pin_gets_a_one_time_code_and_the_decision_says_so():
    decision = decide(default=LevelChoice("secure", True), contact_has_pin=False)
    assert decision.pin_method == "one_time_code"
    assert _codes(decision) == {"no_contact_pin"}
    with_pin = decide(default=LevelChoice("secure", True), contact_has_pin=True)
    assert with_pin.pin_method == "contact_pin" and not with_pin.warnings
    by_code = decide(default=LevelChoice("secure", True), pin_method="one_time_code", contact_has_pin=False)
    assert by_code.pin_method == "one_time_code" and not by_code.warnings
    # No PIN asked: the contact's lack of one does not matter.
    assert not decide(default=LevelChoice("secure", False), contact_has_pin=False).warnings


def test_warnings_add_up_and_with_warnings_can_block():
    decision = decide(default=LevelChoice("standard", False), situation=HEALTHCARE)
    extra = decision.with_warnings([PolicyWarning("protected_content", "found a date of birth")], block=True,
                                   code="protected_content")
    assert _codes(extra) == {"secure_recommended", "protected_content"}
    assert extra.blocked_by == ("protected_content",)
    assert not decision.blocked  # the original is unchanged
    assert extra.as_dict()["blocked_by"] == ["protected_content"]
    assert extra.as_dict()["reason"] == "standard — set by the global default"


@pytest.mark.parametrize("raw, expected", [("inherit", None), (None, None), ("", None), ("true", True),
                                           (True, True), ("False", False), (False, False)])
def test_pin_choice_reads_stored_and_submitted_values(raw, expected):
    assert pin_choice(raw) is expected


def test_pin_choice_refuses_anything_else():
    with pytest.raises(ValueError):
        pin_choice("sometimes")
