"""Sanitising the HTML users write: what can run code goes, ordinary e-mail markup and the
template's Jinja tags stay exactly as written, a full document stays a full document, and
contents are stored sanitised."""

from __future__ import annotations

import pytest

from retentio.db import session_scope
from retentio.messaging import service
from retentio.messaging.models import MessageContent
from retentio.messaging.sanitize import UnsafeTemplate, sanitize_html
from retentio.messaging.templates import compile_content, render_content
from retentio.settings import Settings

DOCUMENT_START = '<!DOCTYPE html><html><head><meta charset="utf-8">'


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ('<p onclick="steal()">Hi</p><script>alert(1)</script>', "<p>Hi</p>"),
        ('<img src="x.png" onerror="steal()" alt="">', '<img src="x.png" alt="">'),
        ('<a href="javascript:alert(1)">x</a>', "<a>x</a>"),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', "<a>x</a>"),
        ('<img src="data:image/svg+xml;base64,AA" alt="x">', '<img alt="x">'),
        ('<iframe src="https://evil.example/">fallback</iframe><p>after</p>', "<p>after</p>"),
        ("<object data=x>o</object><embed src=x><p>after</p>", "<p>after</p>"),
        ('<form action="https://evil.example/"><input name="pw"></form>', ""),
        ("<svg><script>alert(1)</script></svg><p>ok</p>", "<p>ok</p>"),
        ('<p style="width:expression(alert(1))">a</p>', "<p>a</p>"),
        ('<p style="width: EXPRE/**/SSION(alert(1))">a</p>', "<p>a</p>"),
        ('<p style="background:url(jav\\61script:alert(1))">a</p>', "<p>a</p>"),
        ('<p style="behavior: url(x.htc)">a</p>', "<p>a</p>"),
        ('<p style="-moz-binding: url(x.xml#x)">a</p>', "<p>a</p>"),
        ("<style>@import url(https://evil.example/x.css);</style><p>a</p>", "<p>a</p>"),
        ("<style>p { width: expression(alert(1)) }</style><p>a</p>", "<p>a</p>"),
        ("<p>a</p><!-- a note --><!--[if mso]><b>x</b><![endif]-->", "<p>a</p>"),
    ],
)
def test_what_could_run_code_is_removed(given: str, expected: str) -> None:
    assert sanitize_html(given) == expected


@pytest.mark.parametrize(
    "markup",
    [
        '<table width="600" cellpadding="0" cellspacing="0" border="0" bgcolor="#ffffff" '
        'align="center" role="presentation"><tbody><tr><td valign="top" '
        'style="padding:16px;font-family:Arial,sans-serif;color:#333333" bgcolor="#f4f4f4">'
        "Cell</td></tr></tbody></table>",
        '<h1 style="color:#2a6;font-size:24px">Spring tea</h1><h2>Green</h2>',
        '<ul><li>one</li></ul><ol start="2"><li>two</li></ol>',
        '<a href="https://shop.example/tea?utm_source=crm" target="_blank">Tea</a>',
        '<a href="mailto:hi@shop.example">Write</a> <a href="tel:+79161234567">Call</a>',
        '<img src="https://img.shop.example/tea.png" width="600" height="300" alt="Tea" '
        'border="0" style="display:block">',
        '<font color="#cc0000" face="Georgia" size="3">Sale</font>',
        '<p class="lead" style="margin:0 0 12px">Text <b>bold</b> <i>it</i> <u>u</u><br>'
        '<span style="color:red">red</span></p>',
        '<div align="center"><center>Centred</center></div><hr>',
        "<style>.lead { color: #333 } @media (max-width: 600px) { .x { width: 100% } }</style>"
        "<p>a</p>",
    ],
)
def test_ordinary_email_markup_is_kept_as_written(markup: str) -> None:
    assert sanitize_html(markup) == markup


def test_jinja_tags_survive_in_text_attributes_and_between_table_rows() -> None:
    # given a template with tags in text, in href/src and around rows of a table
    given = (
        "<p>Hello, {{ contact.first_name | default('friend') }}!</p>"
        '<a href="{{ links.preferences }}">Preferences</a>'
        '<img src="{{ product.image }}" alt="{{ product.name }}">'
        "<table>{% for p in products %}<tr><td>{{ p.name }}</td></tr>{% endfor %}</table>"
        "<p>{# a note for authors #}{% if a > b and c < d %}x{% endif %}{{ '-->' }}</p>"
    )
    # when
    cleaned = sanitize_html(given)
    # then: the parser's <tbody> is the only change
    assert cleaned == (
        "<p>Hello, {{ contact.first_name | default('friend') }}!</p>"
        '<a href="{{ links.preferences }}">Preferences</a>'
        '<img src="{{ product.image }}" alt="{{ product.name }}">'
        "<table>{% for p in products %}<tbody><tr><td>{{ p.name }}</td></tr>{% endfor %}"
        "</tbody></table>"
        "<p>{# a note for authors #}{% if a > b and c < d %}x{% endif %}{{ '-->' }}</p>"
    )
    # and the template still renders the loop as rows of the table
    rendered = render_content(
        compile_content("", "", cleaned, ""),
        {
            "contact": {"first_name": "Анна"},
            "links": {"preferences": "https://crm.example/p/T"},
            "product": {"image": "https://img.example/a.png", "name": "Tea"},
            "products": [{"name": "Пуэр"}, {"name": "Улун"}],
            "a": 2,
            "b": 1,
            "c": 1,
            "d": 2,
        },
    ).html
    assert "<td>Пуэр</td></tr><tbody><tr><td>Улун</td>" in rendered
    assert '<a href="https://crm.example/p/T">' in rendered


def test_jinja_cannot_smuggle_a_javascript_url() -> None:
    assert sanitize_html('<a href="javascript:{{ x }}">x</a>') == "<a>x</a>"


def test_the_inside_of_a_raw_block_is_cleaned_as_html() -> None:
    # given markup that Jinja's raw block would print as it stands
    given = "<p>{% raw %}{{<script>alert(1)</script>}}{% endraw %}</p>"
    # when
    cleaned = sanitize_html(given)
    # then
    assert cleaned == "<p>{% raw %}{{}}{% endraw %}</p>"
    assert render_content(compile_content("", "", cleaned, ""), {}).html == "<p>{{}}</p>"


@pytest.mark.parametrize(
    "template",
    [
        "<p>{{ contact.custom.note|safe }}</p>",
        "<p>{{ contact.custom.note | safe }}</p>",
        "{% filter safe %}{{ x }}{% endfilter %}",
        "{% autoescape false %}{{ x }}{% endautoescape %}",
    ],
)
def test_jinja_that_turns_escaping_off_is_refused(template: str) -> None:
    with pytest.raises(UnsafeTemplate) as raised:
        sanitize_html(template)
    assert raised.value.details == {"field": "html"}


def test_words_like_safe_elsewhere_are_fine() -> None:
    given = "{# never | safe #}<p>{{ contact.custom.safety }} safe</p>"
    assert sanitize_html(given) == given


def test_a_full_document_keeps_its_wrapper_head_styles_and_body_attributes() -> None:
    # given a pasted document with a title, a style block in head and one in body
    given = (
        "<!DOCTYPE html><html lang='ru'><head><title>Spring</title>"
        '<meta name="viewport" content="width=device-width">'
        "<style>.a { color: red }</style></head>"
        '<body bgcolor="#fafafa" style="margin:0" onload="steal()">'
        '<style>.b { color: blue }</style><p class="a">Hi {{ contact.first_name }}</p>'
        "<script>alert(1)</script></body></html>"
    )
    # when
    cleaned = sanitize_html(given)
    # then
    assert cleaned == (
        f"{DOCUMENT_START}<style>.a {{ color: red }}.b {{ color: blue }}</style></head>"
        '<body bgcolor="#fafafa" style="margin:0">'
        '<p class="a">Hi {{ contact.first_name }}</p></body></html>'
    )
    # and cleaning again changes nothing
    assert sanitize_html(cleaned) == cleaned


def test_a_body_without_its_closing_tag_still_makes_a_document() -> None:
    assert sanitize_html("<body><p>x</p>") == f"{DOCUMENT_START}</head><body><p>x</p></body></html>"


def test_a_fragment_stays_a_fragment() -> None:
    assert sanitize_html("<p>Tom & Jerry</p>") == "<p>Tom &amp; Jerry</p>"


def test_a_users_text_that_looks_like_a_placeholder_is_left_alone() -> None:
    # The placeholders carry a random nonce per call: guessing one restores nothing.
    given = "<p>rtj0000000000000000n0z {{ x }}</p>"
    assert sanitize_html(given) == given


def test_create_content_stores_the_html_sanitised(settings: Settings) -> None:
    # when
    with session_scope(settings.database_url) as session:
        content_id = service.create_content(
            session,
            subject="Hi",
            html='<p onclick="steal()">Hi {{ contact.first_name }}</p><script>x()</script>',
            text="Hi",
        ).id
    # then
    with session_scope(settings.database_url) as session:
        stored = session.get(MessageContent, content_id)
        assert stored is not None
        assert stored.html == "<p>Hi {{ contact.first_name }}</p>"
