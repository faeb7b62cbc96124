"""Readable text from an HTML body, laid out for the body-form reader.

Written on the standard library's HTMLParser rather than taken from html2text or inscriptis:
those lay tables out as Markdown pipes or padded columns, while the body-form reader wants a
two-column table of labels and values (how Outlook sends a pasted form) as "label<tab>value"
lines.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

MAX_HTML_CHARS = 2_000_000

_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \f\v\u00a0]+")
_CELL_GAP = re.compile(r" *\t[ \t]*")


class _HtmlText(HTMLParser):
    """Block elements become lines, table cells are split by tabs.

    Inside a cell, blocks become spaces, so that a two-column table of labels and values
    (Outlook wraps every cell in a paragraph) reads as "label<tab>value" lines.
    """

    _SKIP = frozenset({"script", "style", "head", "title", "template"})
    _BLOCKS = frozenset(  # a blank line before and after
        {"p", "div", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
        | {"pre", "hr", "section", "article", "header", "footer"}
    )
    _LINES = frozenset({"br", "tr", "li", "dt", "dd"})  # a line of their own

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skipping = 0
        self._cells = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in ("td", "th"):
            self._cells += 1
            self.chunks.append("\t")
        elif tag in self._BLOCKS or tag in self._LINES:
            self._break(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in ("td", "th"):
            self._cells = max(0, self._cells - 1)
        elif tag in self._BLOCKS:
            self._break(tag)

    def _break(self, tag: str) -> None:
        inside_cell = self._cells and tag not in ("tr", "table")
        self.chunks.append(" " if inside_cell else "\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    """The text of an HTML body, one line per paragraph, row or line break."""
    html = html[:MAX_HTML_CHARS]
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
        text = "".join(parser.chunks)
    except Exception:  # html.parser can fail on broken declarations: fall back to bare tags
        text = _TAG.sub(" ", html)
    lines = (_CELL_GAP.sub("\t", _SPACES.sub(" ", line)).strip(" \t") for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
