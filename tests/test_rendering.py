"""The hardened sandbox: known escapes and resource bombs are refused with the line; nothing else escapes."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from messaging.errors import ValidationFailed
from messaging.rendering.text import check_source, render_notice, render_text, undeclared_names

CONTEXT = {"first_name": "Ann", "last_name": "Lee", "org_name": "Clinic", "form": {"appointment_date": "Tue 4 May"},
           "appointment_date": "Tue 4 May"}


def refusal(source, context=CONTEXT, field="body"):
    with pytest.raises(ValidationFailed) as caught:
        render_text(source, context, field)
    return caught.value.fields[field]


def test_fields_render():
    assert render_text("Hi {{ first_name }}, see you {{ appointment_date }} at {{ org_name }}.", CONTEXT) == \
        "Hi Ann, see you Tue 4 May at Clinic."
    assert render_text("{{ form.appointment_date }} / {{ form['appointment_date'] }}", CONTEXT) == \
        "Tue 4 May / Tue 4 May"
    assert render_text("{{ missing | default('soon') }}", CONTEXT) == "soon"


def test_syntax_errors_name_the_line():
    assert refusal("Hello\n{{ first_name }") == "line 2: unexpected '}'"
    assert refusal("{% if x %}\nno end").startswith("line 1: Unexpected end of template")


def test_unknown_fields_name_the_line():
    assert refusal("Hello\n\n{{ diagnosis }}") == "line 3: unknown field: 'diagnosis' is undefined"
    assert "no attribute 'nope'" in refusal("{{ form.nope }}")


@pytest.mark.parametrize("source", [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''['__class__'] }}",
    "{{ first_name|attr('__class__') }}",
    "{{ [1]|map(attribute='__class__')|list }}",
    "{{ first_name.mro }}",
    "{{ range.__self__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ dict.__base__.__subclasses__() }}",
    "{{ '{0.__class__}'.format(first_name) }}",
    "{{ config }}",
    "{{ request.environ }}",
    "{% include '/etc/passwd' %}",
    "{% import 'x' as y %}",
    "{% extends 'base' %}",
    "{% from 'x' import y %}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
])
def test_known_escapes_are_refused(source):
    message = refusal(source)
    assert message.startswith("line 1: "), message


@pytest.mark.parametrize("source", [
    "{{ 'a' * 100000 }}",
    "{{ 'a' * 1000 * 1000 }}",
    "{{ 9 ** 9 ** 9 }}",
    "{{ 2 ** 1000 }}",
    "{% for i in range(5000) %}x{% endfor %}",
    "{% for a in range(9) %}{% for b in range(9) %}{% endfor %}{% endfor %}",
    "{{ '%999999999d' % 1 }}",
    "{{ 'x'|format }}",
    "{{ 'x'|center(99999999) }}",
    "{% set a = 'x' * 9000 %}{{ a }}{{ a }}{{ a }}",
    "{{ [1].append(2) }}",
])
def test_resource_bombs_and_mutations_are_refused(source):
    refusal(source)


def test_runtime_errors_become_validation_errors_with_the_line():
    assert refusal("ok\n{{ 1 / 0 }}") == "line 2: ZeroDivisionError: division by zero"
    assert refusal("{{ first_name + 1 }}").startswith("line 1: TypeError")


def test_long_sources_are_refused():
    assert "at most" in refusal("x" * 30_000)


def test_check_source_vets_without_rendering_and_lists_names_with_lines():
    tree = check_source("Hi {{ first_name }}\n{% for x in form.items() %}{{ x }}{% endfor %}\n{{ diagnosis }}")
    assert undeclared_names(tree) == {"first_name": 1, "form": 2, "diagnosis": 3}
    with pytest.raises(ValidationFailed) as caught:
        check_source("{{ x.__class__ }}", "subject")
    assert caught.value.fields == {"subject": "line 1: '__class__' is not allowed in templates"}


def test_notice_renders_only_its_three_fields():
    assert render_notice("Clinic", "Ann", "https://x/m/t") == "Clinic: you have a new secure message. Open: https://x/m/t"
    with pytest.raises(ValidationFailed) as caught:
        render_notice("Clinic", "Ann", "https://x/m/t", "{{ org_name }} {{ last_name }} {{ link }}")
    assert "notification_text" in caught.value.fields


@settings(max_examples=400, deadline=None)
@given(source=st.one_of(st.text(alphabet=st.sampled_from(list("{}%#()[]'\"._|~+*-/ \nabcxyz0123456789=!<>,:")),
                                max_size=60),
                        st.text(max_size=60)))
def test_random_text_never_raises_anything_but_validation_failed(source):
    try:
        result = render_text(source, CONTEXT)
    except ValidationFailed as exc:
        assert exc.fields["body"]
    else:
        assert isinstance(result, str)


_PIECES = st.sampled_from(["{{ ", " }}", "{% ", " %}", "first_name", "form", ".", "__class__", "[", "]", "(", ")",
                           "'", "|", "attr", "for x in ", "endfor", "if ", "endif", "range(", "*", "**", "99",
                           "9999", "set a = ", "~", "mro", "__globals__", "lower", "join", "\n", "x", ",", "=",
                           "macro", "loop", "self", "namespace(", "dict(", "%"])


@settings(max_examples=600, deadline=None)
@given(pieces=st.lists(_PIECES, max_size=25))
def test_random_template_like_input_never_escapes(pieces):
    source = "".join(pieces)
    try:
        result = render_text(source, CONTEXT)
    except ValidationFailed:
        return
    assert "<class" not in result and "<function" not in result and "<module" not in result
    assert len(result) <= 20_000
