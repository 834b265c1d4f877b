"""Hugo 0.111's automatic summary, cut out of the post's own rendered tree.

Hugo strips the rendered HTML to plain text (``helpers.StripHTML``: a paragraph end is a line
break, any other line break a space, runs of white space kept as their first character), counts
``summaryLength`` (70) words by their white space, and runs on to the next ``.``, ``?``, ``!``
or line break (``TruncateWordsToWholeSentence``): the end of that sentence, or of that
paragraph. So a summary is 70 to about 110 words of what a reader sees, whatever Markdown or
raw HTML made it. Hugo's list also has ``"``, but its typographer turns every quote in text
into a curly one, so a straight quote never ends a summary there and does not here either.

Hugo then shows that plain text; a digest wants the formatting, so the same cut is made in the
element tree the email is rendered from: the text where the summary ends is shortened, and
everything after it goes. The HTML and the plain-text part are both written from the cut tree,
so they agree. A code block (kept whole in the tree, as one stored piece of HTML) is counted
like Hugo counts it, but never cut in half: a summary that ends inside one keeps all of it.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

_END_OF_SENTENCE = frozenset(".?!\n")
_PARAGRAPH_ENDS = frozenset({"p", "br"})
"""Hugo's StripHTML turns ``</p>`` and ``<br>`` into a line break, which ends a sentence."""
_BLOCKS = frozenset(
    {"p", "ul", "ol", "li", "blockquote", "pre", "table", "thead", "tbody", "tr", "th", "td"}
    | {"hr", "div", "h1", "h2", "h3", "h4", "h5", "h6", "dl", "dt", "dd"}
)
"""Goldmark writes a line break after these; StripHTML makes it a space."""
_TAGS = re.compile(r"<[^>]*>")


@dataclass(frozen=True, slots=True)
class _Piece:
    """A run of text in the tree: ``owner.text`` or ``owner.tail``, or a block's end (``""``)."""

    owner: ET.Element
    attr: str
    """``text``, ``tail``, or ``end`` for the line break or space after a block."""
    text: str
    atomic: bool = False
    """A stored piece of HTML (a code block): counted, never cut."""


def _pieces(root: ET.Element, unstash: Callable[[str], str | None]) -> list[_Piece]:
    """The tree's text in document order, with the breaks StripHTML would see between blocks."""
    out: list[_Piece] = []

    def visit(el: ET.Element) -> None:
        if el.text:
            stored = unstash(el.text)
            if stored is not None:
                out.append(_Piece(el, "text", stored, atomic=True))
            else:
                out.append(_Piece(el, "text", el.text))
        for child in el:
            visit(child)
            if child.tail:
                out.append(_Piece(child, "tail", child.tail))
        if el is not root and el.tag in _PARAGRAPH_ENDS:
            out.append(_Piece(el, "end", "\n"))
        elif el is not root and el.tag in _BLOCKS:
            out.append(_Piece(el, "end", " "))

    visit(root)
    return out


def _cut_index(pieces: list[_Piece], words: int) -> tuple[int, int] | None:
    """(piece, offset just past the summary's last character), or None when nothing is cut.

    Hugo's rules, on the text as StripHTML leaves it: the ``words``-th white-space character
    ends the count, the next end of sentence ends the summary.
    """
    # Hugo's plain text starts with the first word: white space before it is not counted.
    count, was_space, counting = 0, True, True
    for index, piece in enumerate(pieces):
        text = piece.text if piece.attr != "text" or not piece.atomic else _plain(piece.text)
        for offset, char in enumerate(text):
            space = char.isspace()
            if space and was_space:
                continue  # StripHTML keeps the first of a run of white space only
            was_space = space
            if counting and space:
                count += 1
                if count >= words:
                    counting = False
            if not counting and char in _END_OF_SENTENCE:
                return index, (len(piece.text) if piece.atomic else offset + 1)
    return None


def _plain(stored_html: str) -> str:
    """A stored piece of HTML as StripHTML would leave it: line breaks become spaces."""
    return html.unescape(_TAGS.sub("", stored_html.replace("\n", " ")))


def _drop_after(root: ET.Element, node: ET.Element) -> None:
    """Remove everything that follows ``node``'s own content in document order."""
    parents = {child: parent for parent in root.iter() for child in parent}
    while node is not root:
        parent = parents[node]
        node.tail = None
        for sibling in list(parent)[list(parent).index(node) + 1 :]:
            parent.remove(sibling)
        node = parent


def _is_done(pieces: list[_Piece], index: int, offset: int) -> bool:
    """Whether nothing of the plain text follows the cut (Hugo's ``endIndex == len(s)``).

    The plain text ends with the last paragraph's line break, so a summary that ends at the
    post's final full stop leaves that line break over: Hugo reports it as truncated, and so
    does this. Cut at the line break itself, the rest collapses into it: not truncated.
    """
    piece = pieces[index]
    rest = piece.text[offset:] + "".join(p.text for p in pieces[index + 1 :])
    last = piece.text[offset - 1] if offset and not piece.atomic else "."
    return not rest.strip() and last.isspace()


def cut_summary(root: ET.Element, unstash: Callable[[str], str | None], words: int) -> bool:
    """Cut ``root`` to Hugo's automatic summary of ``words`` words; True when text was cut."""
    pieces = _pieces(root, unstash)
    found = _cut_index(pieces, words)
    if found is None:
        return False
    index, offset = found
    if _is_done(pieces, index, offset):
        return False
    piece = pieces[index]
    owner = piece.owner
    if piece.attr == "text":
        if not piece.atomic:
            owner.text = piece.text[:offset]
        for child in list(owner):
            owner.remove(child)
    elif piece.attr == "tail":
        owner.tail = piece.text[:offset]
        tail = owner.tail
        _drop_after(root, owner)
        owner.tail = tail
        return True
    _drop_after(root, owner)
    return True
