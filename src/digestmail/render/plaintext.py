"""The plain-text part of a tip, written from the same Markdown tree as its HTML.

Readers of the text part (and spam filters, which compare both parts) should get the same
words: paragraphs wrapped at 76 columns, list markers and quotes kept, code as written, and
links listed as numbered references under the text instead of URLs breaking up sentences.
"""

from __future__ import annotations

import html
import re
import textwrap
import xml.etree.ElementTree as ET

import markdown

TEXT_WIDTH = 76


STASH = re.compile("\x02wzxhzdk:(\\d+)\x03")
"""Python-Markdown's placeholder for a piece of HTML it stores aside (a code block)."""


_TAGS = re.compile(r"<[^>]*>")


_SPACE = re.compile(r"\s+")


_REF_LINE = re.compile(r"\[\d+\] \S+")


_BR = "\x00"


_BLOCK_TAGS = frozenset(
    {"p", "ul", "ol", "blockquote", "pre", "table", "hr", "h1", "h2", "h3", "h4", "h5", "h6"}
)


class TextWriter:
    """Plain text from the Markdown tree: paragraphs, lists, quotes, code and link references."""

    def __init__(self, md: markdown.Markdown) -> None:
        self.md = md
        self.refs: list[str] = []

    def render(self, root: ET.Element) -> str:
        blocks = self._blocks(root)
        out = "\n\n".join(b for b in blocks if b.strip())
        if self.refs:
            out += "\n\n" + "\n".join(f"[{i}] {url}" for i, url in enumerate(self.refs, 1))
        return out

    @staticmethod
    def wrap_all(text: str, width: int) -> str:
        """Wrap every line longer than ``width``; the markers at line starts keep their indent."""
        lines: list[str] = []
        for line in text.split("\n"):
            if len(line) <= width or line.startswith("    ") or _REF_LINE.fullmatch(line):
                lines.append(line)
                continue
            marker = re.match(r"(> )*(- |\d+\. |\[\d+\] )?", line)
            lead = marker.group(0) if marker else ""
            indent = re.sub(r"[^>]", " ", lead)
            lines.extend(
                textwrap.wrap(
                    line,
                    width=width,
                    subsequent_indent=indent,
                    break_long_words=False,
                    break_on_hyphens=False,
                )
                or [""]
            )
        return "\n".join(lines)

    def _unstash(self, text: str) -> str:
        def raw(m: re.Match[str]) -> str:
            stashed = self.md.htmlStash.rawHtmlBlocks[int(m.group(1))]
            return html.unescape(_TAGS.sub("", str(stashed)))

        return STASH.sub(raw, text)

    def _inline(self, el: ET.Element) -> str:
        parts: list[str] = [self._unstash(el.text or "")]
        for child in el:
            if child.tag == "br":
                parts.append(_BR)
            elif child.tag == "del":  # struck-through text stays readable as such
                parts.append(f"~~{self._inline(child)}~~")
            elif child.tag == "code":
                # Python-Markdown stores a code span already HTML-escaped.
                parts.append(html.unescape(self._unstash("".join(child.itertext()))))
            elif child.tag == "img":
                alt = child.get("alt", "")
                parts.append(f"[{alt}]" if alt else "")
            elif child.tag == "a":
                label = self._inline(child).strip()
                href = child.get("href", "")
                if href and href not in {label, f"mailto:{label}"}:
                    self.refs.append(href)
                    parts.append(f"{label} [{len(self.refs)}]")
                else:
                    parts.append(label)
            else:
                parts.append(self._inline(child))
            parts.append(self._unstash(child.tail or ""))
        return "".join(parts)

    def _flow(self, el: ET.Element) -> str:
        """Soft line breaks become spaces, as in the HTML; only ``<br>`` breaks a line."""
        return "\n".join(_SPACE.sub(" ", line).strip() for line in self._inline(el).split(_BR))

    def _blocks(self, el: ET.Element) -> list[str]:
        blocks: list[str] = []
        if el.text and el.text.strip():
            blocks.append(self._unstash(el.text.strip()))
        for child in el:
            blocks.extend(self._block(child))
            if child.tail and child.tail.strip():
                blocks.append(self._unstash(child.tail.strip()))
        return blocks

    def _item(self, li: ET.Element) -> str:
        """A list item: its own words, then its blocks (a nested list keeps its indent)."""
        children = list(li)
        block_at = next((i for i, c in enumerate(children) if c.tag in _BLOCK_TAGS), None)
        if block_at is None:
            return self._flow(li)
        head = ET.Element("li")
        head.text = li.text
        head.extend(children[:block_at])
        texts = [self._flow(head)]
        for child in children[block_at:]:
            texts.extend(self._block(child))
            if child.tail and child.tail.strip():
                texts.append(self._unstash(child.tail.strip()))
        return "\n".join(t for t in texts if t.strip())

    def _block(self, el: ET.Element) -> list[str]:
        tag = el.tag
        stashed = STASH.fullmatch((el.text or "").strip())
        if tag == "p" and stashed and not len(el):
            code = self._unstash(stashed.group(0)).rstrip("\n")
            return ["\n".join("    " + line for line in code.split("\n"))]
        if tag in {"p", "h1", "h2", "h3", "h4", "h5", "h6", "dt", "dd"}:
            return [self._flow(el)]
        if tag in {"ul", "ol"}:
            items = []
            for n, li in enumerate(el.findall("li"), 1):
                marker = f"{n}. " if tag == "ol" else "- "
                body = self._item(li)
                pad = " " * len(marker)
                items.append(marker + body.replace("\n", "\n" + pad))
            return ["\n".join(items)]
        if tag == "blockquote":
            inner = "\n\n".join(self._blocks(el))
            return ["\n".join(("> " + line).rstrip() for line in inner.split("\n"))]
        if tag == "pre":
            code = html.unescape("".join(el.itertext())).rstrip("\n")
            return ["\n".join("    " + line for line in code.split("\n"))]
        if tag == "hr":
            return ["-" * 20]
        if tag == "table":
            rows = [
                " | ".join(_SPACE.sub(" ", self._inline(cell)).strip() for cell in row)
                for row in el.iter("tr")
            ]
            return ["\n".join(rows)]
        return self._blocks(el)


def wrap_text(text: str, width: int = TEXT_WIDTH) -> str:
    """Wrap plain text at ``width``; URLs and other long words are never broken."""
    return TextWriter.wrap_all(str(text), width)
