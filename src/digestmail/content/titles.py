"""Placeholder titles: when every post says "Mein Veranstaltungstipp", its first heading says more.

Some site generators give each post of a kind the same front-matter title and put the real
title into the body as its first heading (and a subtitle into the headings right after it).
A digest listing five tips all called "Mein Veranstaltungstipp", each summary repeating its
real heading, helps nobody; so for such a post the tip's title is that heading, the headings
after it are its subtitle, and both leave the body the summary is made from.

A title is a placeholder when the site names it (``site.placeholder_titles``) or, without
configuration, when several posts of one section carry it and each of them opens with a
heading. The front-matter title stays the post's ``title`` (Hugo's, and its permalink's); the
heading is kept beside it as the post's :class:`~digestmail.models.Headline`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

from digestmail.models import Headline, Post

_ATX = re.compile(r"[ ]{0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"[ ]{0,3}(=+|-+)[ \t]*$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKS = re.compile(r"(\*\*|__|(?<!\w)[*_]|[*_](?!\w)|`|~~)")


def _plain(markdown: str) -> str:
    """A heading's words without their Markdown: links as their text, no emphasis marks.

    A star between two letters (``Bürger*innen``) is text, as the renderer treats it.
    """
    text = _LINK.sub(r"\1", markdown)
    return " ".join(_MARKS.sub("", text).split())


def _heading_at(lines: list[str], i: int) -> tuple[int, str] | None:
    """The heading starting at line ``i`` as (lines it takes, its text), or None."""
    found = _ATX.match(lines[i])
    if found:
        return 1, found.group(2)
    if i + 1 < len(lines) and lines[i].strip() and _SETEXT.match(lines[i + 1]):
        return 2, lines[i].strip()
    return None


def opening_headings(body: str) -> tuple[list[str], str] | None:
    """The headings a body opens with (blank lines between them allowed) and the rest.

    None when the first thing in the body is not a heading.
    """
    lines = body.split("\n")
    i, headings = 0, []
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        heading = _heading_at(lines, i)
        if heading is None:
            break
        taken, text = heading
        headings.append(_plain(text))
        i += taken
    if not headings:
        return None
    return headings, "\n".join(lines[i:]).lstrip("\n")


def opens_with_heading(body: str) -> bool:
    """Whether :func:`opening_headings` finds a heading, from the body's first two lines that
    hold text; it splits the whole body, which every post of a big site paid for."""
    pos, end = 0, body.find("\n")
    while end != -1 and not body[pos:end].strip():  # blank lines before the first text
        pos, end = end + 1, body.find("\n", end + 1)
    line = body[pos:] if end == -1 else body[pos:end]
    if not line.strip():
        return False
    if _ATX.match(line):
        return True
    if end == -1:
        return False
    after = body.find("\n", end + 1)
    return _SETEXT.match(body[end + 1 :] if after == -1 else body[end + 1 : after]) is not None


def _placeholders(posts: Iterable[Post], named: frozenset[str]) -> set[tuple[str, str]]:
    """(section, folded title) pairs that are placeholders: named, or shared by openers.

    Titles are counted first, so on an ordinary site, where titles differ, no body is looked at.
    """
    posts = list(posts)
    titled = Counter((p.section, p.title.casefold()) for p in posts if p.title)
    candidates = [
        p
        for p in posts
        if p.title and (titled[(p.section, p.title.casefold())] > 1 or p.title.casefold() in named)
    ]
    openers = [p for p in candidates if opens_with_heading(p.body)]
    shared = Counter((p.section, p.title.casefold()) for p in openers)
    return {
        (p.section, p.title.casefold())
        for p in openers
        if p.title.casefold() in named or shared[(p.section, p.title.casefold())] > 1
    }


def with_headlines(posts: list[Post], named: Iterable[str] = ()) -> list[Post]:
    """``posts`` with a :class:`Headline` on each post whose title is a placeholder."""
    folded = frozenset(name.casefold() for name in named)
    placeholders = _placeholders(posts, folded)
    if not placeholders:
        return posts
    out: list[Post] = []
    for post in posts:
        opened = opening_headings(post.body)
        if (post.section, post.title.casefold()) not in placeholders or opened is None:
            out.append(post)
            continue
        headings, body = opened
        out.append(replace(post, headline=_headline(post, headings, body)))
    return out


def _headline(post: Post, headings: list[str], body: str) -> Headline:
    """The headline of a placeholder-titled post; its headings leave the summary too.

    A ``<!--more-->`` summary that held nothing but those headings leaves Hugo's automatic
    summary to be made from the rest.
    """
    summary = post.summary
    if summary is not None:
        opened = opening_headings(summary)
        summary = (opened[1] if opened is not None else summary).strip() or None
    return Headline(
        title=headings[0],
        subtitle=" ".join(headings[1:]),
        body=body,
        summary=summary,
        truncated=post.truncated if summary is not None else False,
    )
