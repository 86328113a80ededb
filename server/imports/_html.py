"""HTML from other systems (OpenSlides texts) as plain text with its paragraphs kept."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = {
    "p",
    "div",
    "br",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "ul",
    "ol",
    "table",
    "section",
    "article",
    "pre",
}
_SKIP = {"script", "style"}


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.lists: list[list[int]] = []  # one counter per open list; -1 = bullets
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag == "ol":
            self.lists.append([0])
        elif tag == "ul":
            self.lists.append([-1])
        elif tag == "li":
            self.parts.append("\n" + self._marker())
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def _marker(self) -> str:
        if not self.lists or self.lists[-1][0] < 0:
            return "- "
        self.lists[-1][0] += 1
        return f"{self.lists[-1][0]}. "

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in ("ol", "ul") and self.lists:
            self.lists.pop()
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Paragraphs and list items on their own lines, entities decoded, tags gone."""
    if "<" not in html and "&" not in html:
        return html.strip()
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    lines = [
        line.strip() for line in "".join(parser.parts).replace("\xa0", " ").split("\n")
    ]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
