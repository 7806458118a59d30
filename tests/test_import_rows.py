"""Each CSV row is checked on its own: a bad value rejects the row with its file line and a reason naming the column."""
from __future__ import annotations

import pytest

from tests.support.imports import import_text, stored_contacts


@pytest.mark.parametrize("phone", ["12", "+1 415 555", "call me", "+999 1234567", "+1 415 555 0123 ext"])
def test_a_bad_phone_rejects_the_row_naming_the_phone_column(app, runner, tmp_path, phone):
    output = import_text(runner, tmp_path, f"first_name,phone\nAna,+14155550123\nBen,{phone}\n")
    assert (output["created"], output["rejected"]) == (1, 1)
    assert output["errors"][0]["line"] == 3
    assert output["errors"][0]["reason"].startswith("phone: ")
    assert [c.first_name for c in stored_contacts(app)] == ["Ana"]


@pytest.mark.parametrize("email", ["ana", "ana@", "@example.com", "ana@@example.com", "ana example@example.com"])
def test_a_bad_email_rejects_the_row_naming_the_email_column(app, runner, tmp_path, email):
    output = import_text(runner, tmp_path, f"first_name,email\nAna,{email}\nBen,ben@example.com\n")
    assert (output["created"], output["rejected"]) == (1, 1)
    assert output["errors"] == [{"line": 2, "reason": output["errors"][0]["reason"]}]
    assert output["errors"][0]["reason"].startswith("email: ")


@pytest.mark.parametrize(("column", "value"), [
    ("language", "fr"), ("language", "english"), ("date_of_birth", "14/03/1984"), ("date_of_birth", "1984-02-30"),
    ("date_of_birth", "2999-01-01"), ("timezone", "Mars/Olympus"), ("sms_marketing_consent", "maybe"),
])
def test_other_bad_values_reject_the_row_naming_their_column(app, runner, tmp_path, column, value):
    output = import_text(runner, tmp_path, f"first_name,phone,{column}\nAna,+14155550123,{value}\n")
    assert output["rejected"] == 1
    assert output["errors"][0]["reason"].startswith(f"{column}: ")
    assert stored_contacts(app) == []


def test_good_values_are_normalised_and_a_missing_timezone_comes_from_the_phone(app, runner, tmp_path):
    output = import_text(runner, tmp_path, "First Name,LAST_NAME,Phone,E-mail,Language,date_of_birth,timezone\n"
                                           "Ana,Ruiz,(415) 555-0123,Ana@Example.com,ES,1984-03-14,\n"
                                           "Ben,Ng,+34 612 345 678,,en,,\n"
                                           "Cy,Li,+12025550123,,,,Europe/Madrid\n")
    assert output["created"] == 3, output
    ana, ben, cy = stored_contacts(app)
    assert (ana.phone, ana.email, ana.language, str(ana.date_of_birth), ana.timezone) == (
        "+14155550123", "Ana@example.com", "es", "1984-03-14", "America/Los_Angeles")
    assert ben.timezone is None  # Spain has two zones: none is guessed
    assert cy.timezone == "Europe/Madrid" and cy.language == "en"


def test_other_columns_become_form_fields_and_empty_cells_are_left_out(app, runner, tmp_path):
    import_text(runner, tmp_path, "first_name,phone,Next visit,team\nAna,+14155550123,2025-03-14,\n")
    assert stored_contacts(app)[0].form_data == {"Next visit": "2025-03-14"}


def test_line_numbers_are_where_each_row_starts_past_quoted_multi_line_fields(app, runner, tmp_path):
    text = ('first_name,phone,notes\n'
            'Ana,+14155550123,"first line\nsecond line\nthird line"\n'
            'Ben,bad,plain\n'
            '\n'
            'Cy,+14155550124,"one\r\nmore"\n'
            'Di,also bad,x\n')
    output = import_text(runner, tmp_path, text)
    assert [error["line"] for error in output["errors"]] == [5, 9]
    ana = stored_contacts(app)[0]
    assert ana.form_data == {"notes": "first line\nsecond line\nthird line"}


def test_a_bom_and_semicolons_as_excel_writes_them_are_read(app, runner, tmp_path):
    text = ("\ufefffirst_name;last_name;phone;tags\r\n"
            "José;Núñez;+34 612 345 678;\"vip;nuevo\"\r\n"
            "Ana;\"Ruiz; Gil\";+14155550123;\r\n")
    output = import_text(runner, tmp_path, text.encode("utf-8"))
    assert output == {"created": 2, "updated": 0, "rejected": 0, "errors": []}
    jose, ana = stored_contacts(app)
    assert (jose.first_name, jose.last_name, jose.tags) == ("José", "Núñez", ["nuevo", "vip"])
    assert ana.last_name == "Ruiz; Gil"
