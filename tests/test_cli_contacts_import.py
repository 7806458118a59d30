"""`flask contacts import FILE [--tag TAG]... [--json]`: what an operator sees, and what lands in the database."""
from __future__ import annotations

import json

from messaging.db import db
from messaging.models import AuditEntry, ConsentEntry, ContactImport, ContactImportChunk
from tests.support.imports import stored_contacts

HEADER = "first_name,last_name,phone,email,tags\n"


def write(tmp_path, text: str | bytes, name: str = "contacts.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def run_import(runner, path, *args):
    return runner.invoke(args=["contacts", "import", path, *args])


def as_json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_json_output_has_exactly_the_counts_and_the_errors_with_line_and_reason(app, runner, tmp_path):
    path = write(tmp_path, HEADER + "Ana,Ruiz,+14155550123,ana@example.com,vip\n"
                                    "Ben,,not a phone,ben@example.com,\n"
                                    ",,+14155550124,,\n")
    output = as_json(run_import(runner, path, "--json"))
    assert set(output) == {"created", "updated", "rejected", "errors"}
    assert (output["created"], output["updated"], output["rejected"]) == (1, 0, 2)
    assert [set(error) for error in output["errors"]] == [{"line", "reason"}, {"line", "reason"}]
    assert [error["line"] for error in output["errors"]] == [3, 4]
    assert output["errors"][0]["reason"].startswith("phone: ")
    assert output["errors"][1]["reason"] == "first_name: is required"


def test_without_json_the_output_is_a_summary_and_one_line_per_rejected_row(app, runner, tmp_path):
    path = write(tmp_path, HEADER + "Ana,Ruiz,+14155550123,,\nBen,,,not-an-address,\n")
    result = run_import(runner, path)
    assert result.exit_code == 0, result.output
    assert "contacts.csv: 1 created, 0 updated, 1 rejected." in result.output
    assert "line 3: email: " in result.output


def test_tag_options_are_added_to_every_imported_contact(app, runner, tmp_path):
    path = write(tmp_path, HEADER + "Ana,,+14155550123,,vip;Diabetes\nBen,,+14155550124,,\n")
    as_json(run_import(runner, path, "--tag", "Spring", "--tag", "clinic-a", "--json"))
    assert [c.tags for c in stored_contacts(app)] == [["clinic-a", "diabetes", "spring", "vip"], ["clinic-a", "spring"]]


def test_a_binary_file_is_refused_with_a_message_and_nothing_is_stored(app, runner, tmp_path):
    path = write(tmp_path, b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(256)), "list.xlsx")
    result = run_import(runner, path, "--json")
    assert result.exit_code == 1
    assert "not a CSV file" in result.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ContactImport)) == 0
        assert db.session.scalar(db.select(db.func.count()).select_from(ContactImportChunk)) == 0


def test_a_file_in_another_encoding_is_refused_naming_the_line(app, runner, tmp_path):
    path = write(tmp_path, (HEADER + "Ana,,+14155550123,,\nJosé,Núñez,+14155550124,,\n").encode("cp1252"))
    result = run_import(runner, path)
    assert result.exit_code == 1
    assert "not UTF-8" in result.output and "line 3" in result.output
    assert stored_contacts(app) == []


def test_a_text_file_without_a_first_name_column_is_refused(app, runner, tmp_path):
    path = write(tmp_path, '{"contacts": [{"name": "Ana"}]}\n', "contacts.json")
    result = run_import(runner, path)
    assert result.exit_code == 1
    assert "first_name" in result.output
    assert stored_contacts(app) == []


def test_an_empty_file_is_refused(app, runner, tmp_path):
    result = run_import(runner, write(tmp_path, ""))
    assert result.exit_code == 1
    assert "empty" in result.output


def test_the_run_is_audited_with_counts_only_and_the_stored_file_is_gone(app, runner, tmp_path):
    path = write(tmp_path, HEADER + "Ana,Secretname,+14155550123,,\nBen,,bad,,\n")
    as_json(run_import(runner, path, "--json"))
    with app.app_context():
        entry = db.session.execute(db.select(AuditEntry).filter_by(action="contacts.import")).scalar_one()
        assert entry.detail == {"status": "done", "created": 1, "updated": 0, "rejected": 1}
        assert "Secretname" not in json.dumps(entry.detail)
        assert db.session.scalar(db.select(db.func.count()).select_from(ContactImportChunk)) == 0
        assert db.session.execute(db.select(ContactImport)).scalar_one().status == "done"


def test_consent_columns_write_ledger_rows_with_source_import(app, runner, tmp_path):
    path = write(tmp_path, "first_name,phone,sms_marketing_consent,email_transactional_consent\n"
                           "Ana,+14155550123,yes,no\n")
    as_json(run_import(runner, path, "--json"))
    with app.app_context():
        entries = db.session.execute(db.select(ConsentEntry).order_by(ConsentEntry.id)).scalars().all()
        assert [(e.channel, e.purpose, e.granted, e.source) for e in entries] == [
            ("sms", "marketing", True, "import"), ("email", "transactional", False, "import")]


def test_a_file_whose_csv_breaks_mid_way_stops_there_with_a_message_and_the_line(app, runner, tmp_path):
    # A quote that never closes swallows the rest of the file into one field, past csv's limit.
    path = write(tmp_path, HEADER + "Ana,,+14155550123,,\n" + 'Ben,"never closed,' + "x" * 200_000 + "\n")
    result = run_import(runner, path, "--json")
    assert result.exit_code == 1
    assert "not valid CSV at line 3" in result.output and "1 created" in result.output
    with app.app_context():
        failed = db.session.execute(db.select(ContactImport)).scalar_one()
        assert failed.status == "failed" and "line 3" in failed.error
        assert db.session.scalar(db.select(db.func.count()).select_from(ContactImportChunk)) == 0
    assert [c.first_name for c in stored_contacts(app)] == ["Ana"]
