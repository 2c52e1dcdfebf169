"""Cleaning the HTML of message templates that users write or paste: `sanitize_html` keeps
ordinary e-mail markup and the template's Jinja tags, and drops whatever could run code where
the message is shown (a mail client, a preview in Retentio).

Removed: `<script>`, `<iframe>`, `<object>`, `<embed>`, forms, event-handler attributes,
URLs other than http(s), mailto: and tel: (so no `javascript:`), CSS that can run code or load
more (`expression()`, `behavior`, `-moz-binding`, `javascript:`, `@import`) in `style`
attributes and `<style>` blocks, and HTML comments (Outlook's conditional comments included:
what they hide is never looked at by the cleaner). Kept: tables with their layout attributes,
inline styles, `<style>` blocks, images, links, headings, lists, `<font>`, colours.

Jinja is protected, not parsed: each `{{ … }}`, `{% … %}` and `{# … #}` is swapped for a
placeholder before cleaning and put back after (the inside of a `{% raw %}` block is output
as written, so it is cleaned as HTML). What Jinja prints is escaped at render time, so a
template that turns escaping off (`| safe`, `{% filter safe %}`, `{% autoescape false %}`)
would carry markup past the cleaner: it is refused with `UnsafeTemplate`.

Outside tags the placeholder is an HTML comment, which the HTML parser leaves where it is even
between table rows (text there would be moved out of the table, breaking `{% for %}` loops over
rows); inside a tag it is a word, which survives in attribute values such as
`href="{{ links.unsubscribe }}"`. A Jinja tag standing where an attribute *name* goes
(`<td {% if x %}bgcolor="red"{% endif %}>`) does not survive; the content's compilation then
reports any block left unbalanced.

The cleaner (nh3, i.e. ammonia) works on fragments and drops `<html>`, `<head>` and `<body>`.
A full document stays a full document: when a `<body>` was given, the result is rebuilt as
`<!DOCTYPE html><html><head><meta charset="utf-8"><style>…</style></head><body …>…</body>
</html>` with the head's `<style>` blocks and the body's own attributes, so the sender still
finds `<body>` for the preheader and `</body>` for the open pixel. A fragment stays a fragment.
"""

from __future__ import annotations

import re
import secrets

import nh3

from retentio.errors import InvalidInput

_TAGS = frozenset(nh3.ALLOWED_TAGS | {"font", "style", "tfoot", "section", "big", "address"})
# Elements removed together with what they contain (their text is no message content).
_DROPPED_WITH_CONTENT = frozenset(
    {"script", "iframe", "object", "embed", "applet", "noscript", "title", "template", "textarea"}
)
_ANY_TAG = frozenset({"style", "class", "align", "dir", "lang", "title", "width", "height"})
_CELL = frozenset({"bgcolor", "valign", "nowrap"})
_EXTRA_ATTRIBUTES: dict[str, frozenset[str]] = {
    "table": frozenset({"border", "cellpadding", "cellspacing", "bgcolor", "role"}),
    "tr": frozenset({"bgcolor", "valign"}),
    "td": _CELL,
    "th": _CELL,
    "img": frozenset({"border", "hspace", "vspace"}),
    "a": frozenset({"target", "name"}),
    "font": frozenset({"color", "face", "size"}),
    "div": frozenset({"bgcolor"}),
}
_URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})

# A `{% raw %}` block's inside is output as it stands: it is HTML to clean, not Jinja to keep.
_JINJA = re.compile(
    r"(?P<raw>\{%-?\s*raw\s*-?%\})(?P<inner>.*?)(?P<endraw>\{%-?\s*endraw\s*-?%\})"
    r"|\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}",
    re.DOTALL,
)
# Jinja that would print markup unescaped, past everything cleaned here.
_ESCAPING_OFF = re.compile(r"\|\s*safe\b|\bfilter\s+safe\b|\bautoescape\b")
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_BODY_OPEN = re.compile(r"<body\b([^>]*)>", re.IGNORECASE)
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)
_STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.DOTALL)
_DIV_ATTRIBUTES = re.compile(r"^<div([^>]*)>")
_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|$)", re.DOTALL)
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?|\\(.)", re.DOTALL)
_UNSAFE_CSS = ("expression(", "javascript:", "vbscript:", "behavior:", "-moz-binding", "@import")


class UnsafeTemplate(InvalidInput):
    code = "unsafe_template"


def sanitize_html(html: str) -> str:
    """`html` without anything that can run code, Jinja tags intact (see the module's notes).
    Raises UnsafeTemplate for Jinja that would print unescaped markup."""
    jinja = _Placeholders()
    marked = jinja.mark(html)
    # Placeholders were swapped in first, so a `-->` inside a Jinja string ends no comment.
    marked = _COMMENT.sub("", marked)
    body_open = _BODY_OPEN.search(marked)
    if body_open is None:
        return jinja.restore(_clean(jinja.as_comments(marked), jinja.prefix))
    head = marked[: body_open.start()]
    rest = marked[body_open.end() :]
    body_close = _BODY_CLOSE.search(rest)
    inner = rest[: body_close.start()] if body_close else rest
    styles = "".join(_STYLE_BLOCK.findall(_clean(jinja.as_comments(head), jinja.prefix)))
    # Styles inside the body belong to the head as well: some clients read only the head's.
    body = _clean(jinja.as_comments(inner), jinja.prefix)
    styles += "".join(_STYLE_BLOCK.findall(body))
    body = _STYLE_BLOCK.sub("", body)
    document = (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        + (f"<style>{styles}</style>" if styles else "")
        + f"</head><body{_body_attributes(body_open.group(1), jinja.prefix)}>{body}</body></html>"
    )
    return jinja.restore(document)


class _Placeholders:
    """Jinja tags swapped for markers no user can write (a random nonce per call)."""

    def __init__(self) -> None:
        self.prefix = f"rtj{secrets.token_hex(8)}n"
        self.tags: list[str] = []
        self._word = re.compile(rf"{self.prefix}(\d+)z")
        self._restore = re.compile(rf"(?:<!--|&lt;!--)?{self.prefix}(\d+)z(?:--&gt;|-->)?")

    def mark(self, html: str) -> str:
        def swap(match: re.Match[str]) -> str:
            if match.group("raw") is not None:
                raw, endraw = match.group("raw"), match.group("endraw")
                return self._marker(raw) + match.group("inner") + self._marker(endraw)
            tag = match.group(0)
            if not tag.startswith("{#") and _ESCAPING_OFF.search(tag):
                raise UnsafeTemplate(
                    "html: a template may not turn HTML escaping off (| safe, autoescape).",
                    details={"field": "html"},
                )
            return self._marker(tag)

        return _JINJA.sub(swap, html)

    def _marker(self, tag: str) -> str:
        self.tags.append(tag)
        return f"{self.prefix}{len(self.tags) - 1}z"

    def as_comments(self, html: str) -> str:
        """Markers outside any tag become comments, those inside a tag stay words."""
        pieces, last = [], 0
        for match in self._word.finditer(html):
            start = match.start()
            inside_tag = html.rfind("<", 0, start) > html.rfind(">", 0, start)
            pieces.append(html[last : match.start()])
            pieces.append(match.group(0) if inside_tag else f"<!--{match.group(0)}-->")
            last = match.end()
        pieces.append(html[last:])
        return "".join(pieces)

    def restore(self, html: str) -> str:
        return self._restore.sub(lambda match: self.tags[int(match.group(1))], html)


def _clean(html: str, marker: str) -> str:
    cleaned = nh3.clean(
        html,
        tags=set(_TAGS),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes=_ATTRIBUTES,
        attribute_filter=_safe_attribute,
        url_schemes=set(_URL_SCHEMES),
        # Links stay as written: browsers imply noopener for target=_blank, mail has no opener.
        link_rel=None,
        # Kept so the Jinja placeholders survive; every other comment goes below.
        strip_comments=False,
    )
    # The output is serialised HTML: `<` is escaped in text and attribute values, so a literal
    # `<!--` there starts a comment (or sits in a `<style>` block, where it means nothing).
    ours = "<!--" + marker
    cleaned = _COMMENT.sub(lambda m: m.group(0) if m.group(0).startswith(ours) else "", cleaned)
    return _STYLE_BLOCK.sub(_safe_style_block, cleaned)


def _attributes() -> dict[str, set[str]]:
    allowed = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
    allowed["*"] = set(_ANY_TAG)
    for tag, names in _EXTRA_ATTRIBUTES.items():
        allowed.setdefault(tag, set()).update(names)
    return allowed


_ATTRIBUTES = _attributes()


def _safe_attribute(_tag: str, attribute: str, value: str) -> str | None:
    if attribute == "style" and _unsafe_css(value):
        return None
    return value


def _safe_style_block(match: re.Match[str]) -> str:
    return "" if _unsafe_css(match.group(1)) else match.group(0)


def _unsafe_css(css: str) -> bool:
    """CSS that runs script in old engines or loads more: looked for after undoing the tricks
    that hide it (comments inside the word, CSS escapes, spaces, capitals)."""
    plain = _CSS_ESCAPE.sub(_unescape_css, _CSS_COMMENT.sub("", css))
    squeezed = "".join(plain.lower().split())
    return any(word in squeezed for word in _UNSAFE_CSS)


def _unescape_css(match: re.Match[str]) -> str:
    if match.group(2) is not None:
        return match.group(2)
    code = int(match.group(1), 16)
    return chr(code) if 0 < code <= 0x10FFFF else "\ufffd"


def _body_attributes(attributes: str, marker: str) -> str:
    """The body's own attributes (background colour, style), cleaned as a `<div>`'s would be."""
    cleaned = _clean(f"<div {attributes}></div>", marker) if attributes.strip() else ""
    found = _DIV_ATTRIBUTES.match(cleaned)
    return found.group(1) if found else ""
