"""Templates in the immutable sandbox: personalisation, escaping in HTML only, and attempts to
reach Python internals or the environment failing safely (an error or nothing, never code)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from retentio.contacts.models import Contact
from retentio.messaging.templates import (
    TemplateRenderError,
    compile_content,
    render_content,
    template_variables,
)
from retentio.profiles.models import Profile

LINKS = {"unsubscribe": "https://crm.example/u/T", "preferences": "https://crm.example/u/T"}


def _variables() -> dict[str, object]:
    contact = Contact(
        first_name="Анна",
        last_name="Иванова",
        email="anna@example.org",
        city="Казань",
        custom={"pet": "кот", "nested": {"size": 3}},
    )
    profile = Profile(
        rfm_segment="champions", clv_12m=Decimal("1250.50"), lifecycle_stage="loyalty"
    )
    return template_variables(contact, profile, links=LINKS, extra={"order": "SO-7"})


def _render(template: str, *, part: str = "subject") -> str:
    parts = {"subject": "", "preheader": "", "html": "", "text": ""}
    parts[part] = template
    rendered = render_content(compile_content(**parts), _variables())
    return str(getattr(rendered, part))


def test_contact_profile_links_and_message_variables_render() -> None:
    template = (
        "{{ contact.first_name }} {{ contact.last_name }} / {{ contact.full_name }} / "
        "{{ contact.city }} / {{ contact.custom.pet }} / {{ contact.custom.nested.size }} / "
        "{{ profile.rfm_segment }} / {{ profile.clv_12m }} / {{ links.unsubscribe }} / {{ order }}"
    )
    assert _render(template, part="text") == (
        "Анна Иванова / Анна Иванова / Казань / кот / 3 / champions / 1250.50 / "
        "https://crm.example/u/T / SO-7"
    )


def test_missing_values_render_empty_not_none() -> None:
    assert _render("[{{ contact.region }}][{{ contact.custom.absent }}][{{ nope }}]") == "[][][]"
    assert _render("{{ contact.custom.absent | default('друг') }}") == "друг"


def test_html_is_escaped_and_plain_parts_are_not() -> None:
    contact = Contact(first_name="<b>Анна</b> & Co", email="a@example.org", custom={})
    variables = template_variables(contact, None, links=LINKS)
    content = compile_content(
        "{{ contact.first_name }}",
        "",
        "<p>{{ contact.first_name }}</p>",
        "{{ contact.first_name }}",
    )
    rendered = render_content(content, variables)
    assert rendered.html == "<p>&lt;b&gt;Анна&lt;/b&gt; &amp; Co</p>"
    assert rendered.text == "<b>Анна</b> & Co"
    assert rendered.subject == "<b>Анна</b> & Co"


def test_subject_is_one_line() -> None:
    assert _render("Привет,\n  {{ contact.first_name }}\r\n!") == "Привет, Анна !"


@pytest.mark.parametrize(
    "attack",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
        "{{ self.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ lipsum.__globals__['os'].popen('id').read() }}",
        "{{ range(10) | list }}",
        "{{ contact.custom.update({'pet': 'dog'}) }}",
        "{{ contact.custom.__class__ }}",
        "{{ ''.format.__globals__ }}",
        "{{ 'x' | attr('__class__') }}",
        "{{ config }}{{ environment }}{{ request }}{{ settings }}{{ session }}",
        "{{ self._TemplateReference__context }}",
    ],
)
def test_sandbox_escapes_fail_safely(attack: str) -> None:
    for part in ("subject", "html", "text"):
        try:
            outcome: object = _render(attack, part=part)
        except TemplateRenderError as error:
            outcome = error.details
        # Either the sandbox's refusal naming the part, or nothing at all came out.
        assert outcome in ({"field": part}, ""), (attack, outcome)


def test_a_syntax_error_names_the_part() -> None:
    with pytest.raises(TemplateRenderError) as caught:
        compile_content("ok", "", "<p>{% if %}</p>", "")
    assert caught.value.details == {"field": "html"}
    assert "does not parse" in caught.value.message
