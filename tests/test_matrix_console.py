"""The matrix page: a table people can read, admin edits, and the refusal to delete a row in use."""
from messaging.db import db
from messaging.models import AuditEntry, Situation
from tests.support.console import signed_in_client


def text(response):
    return response.get_data(as_text=True)


def situation(app, key):
    with app.app_context():
        return db.session.execute(db.select(Situation).filter_by(key=key)).scalar_one_or_none()


def test_everyone_reads_the_matrix_as_a_table_with_usage(app):
    client = signed_in_client(app, "staff")
    page = text(client.get("/admin/matrix/"))
    assert "Healthcare / HIPAA-adjacent (PHI)" in page and "General marketing" in page
    healthcare_row = page.split('data-key="healthcare"')[1].split("</tr>")[0]
    assert 'data-recommendation="secure"' in healthcare_row
    assert "Test results, diagnoses" in healthcare_row  # the rationale
    assert '<td class="text-right" data-count="templates">1</td>' in healthcare_row
    assert "<td>yes</td>" in healthcare_row  # protected data
    marketing_row = page.split('data-key="marketing"')[1].split("</tr>")[0]
    assert "standard, opt-in only" in marketing_row and "<td>no</td>" in marketing_row
    assert "Add a situation" not in page and "/admin/matrix/healthcare/edit" not in page


def test_staff_cannot_change_the_matrix(app):
    client = signed_in_client(app, "staff")
    assert client.get("/admin/matrix/new").status_code == 403
    assert client.post("/admin/matrix/new", data={"key": "x_y", "label": "X", "recommendation": "secure"}
                       ).status_code == 403
    assert client.post("/admin/matrix/marketing/edit", data={"label": "M", "recommendation": "secure"}
                       ).status_code == 403
    assert client.post("/admin/matrix/legal/delete").status_code == 403
    assert situation(app, "legal") is not None and situation(app, "marketing").recommendation == "standard_opt_in"


def test_admin_edits_a_recommendation_and_rationale_and_it_is_audited(app):
    client = signed_in_client(app, "admin")
    form = text(client.get("/admin/matrix/marketing/edit"))
    assert "General marketing" in form and "readonly" in form
    response = client.post("/admin/matrix/marketing/edit", data={
        "label": "General marketing", "recommendation": "secure", "rationale": "We now treat offers as private.",
        "protected_data": "yes"}, follow_redirects=True)
    assert response.status_code == 200 and "saved" in text(response)
    row = text(response).split('data-key="marketing"')[1].split("</tr>")[0]
    assert 'data-recommendation="secure"' in row and "We now treat offers as private." in row
    with app.app_context():
        entry = db.session.execute(db.select(AuditEntry).filter_by(action="situation.update")).scalar_one()
        assert entry.detail["changes"]["recommendation"] == ["standard_opt_in", "secure"]
        assert entry.detail["changes"]["protected_data"] == [False, True]


def test_admin_adds_a_situation_and_bad_input_is_explained(app):
    client = signed_in_client(app, "admin")
    bad = client.post("/admin/matrix/new", data={"key": "Dental!", "label": "", "recommendation": "secure"})
    assert bad.status_code == 422
    assert "lower-case letters" in text(bad) and "is required" in text(bad)
    ok = client.post("/admin/matrix/new", data={"key": "dental_treatment", "label": "Dental treatment plans",
                                                "recommendation": "secure", "rationale": "Treatment is PHI.",
                                                "protected_data": "yes"}, follow_redirects=True)
    assert "Dental treatment plans" in text(ok)
    assert situation(app, "dental_treatment").protected_data is True


def test_a_situation_in_use_cannot_be_deleted(app):
    client = signed_in_client(app, "admin")
    page = text(client.get("/admin/matrix/"))
    healthcare_row = page.split('data-key="healthcare"')[1].split("</tr>")[0]
    assert "in use" in healthcare_row and "/delete" not in healthcare_row
    confirm = text(client.get("/admin/matrix/healthcare/delete"))
    assert "is used by 1 template and cannot be deleted" in confirm
    assert 'type="submit"' not in confirm.split("</nav>", 1)[1]  # the menu bar's Sign out is one
    refused = client.post("/admin/matrix/healthcare/delete", follow_redirects=True)
    assert "used by 1 template and cannot be deleted" in text(refused)
    assert situation(app, "healthcare") is not None


def test_an_unused_situation_is_deleted_after_confirmation(app):
    client = signed_in_client(app, "admin")
    confirm = text(client.get("/admin/matrix/legal/delete"))
    assert "This cannot be undone" in confirm and 'type="submit"' in confirm
    assert situation(app, "legal") is not None  # asking is not deleting
    response = client.post("/admin/matrix/legal/delete", follow_redirects=True)
    assert "deleted" in text(response) and 'data-key="legal"' not in text(response)
    assert situation(app, "legal") is None
    with app.app_context():
        assert db.session.execute(db.select(AuditEntry).filter_by(action="situation.delete")).scalar_one()


def test_unknown_situation_is_404(app):
    client = signed_in_client(app, "admin")
    assert client.get("/admin/matrix/astrology/edit").status_code == 404
