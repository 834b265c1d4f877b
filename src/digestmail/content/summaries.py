"""A post's summary as Markdown: the part before ``<!--more-->``, else about 70 words.

Hugo 0.111 splits at the exact marker ``<!--more-->``; without it Hugo counts 70 words of the
rendered text and runs on to the end of that sentence. We keep Markdown (the digest renders it
later), so the automatic summary takes whole blocks and, in the block that passes 70 words,
stops at the first sentence end after the 70th word that lies outside any link, code span or
emphasis; when there is none it keeps the whole block. A summary never ends in the middle of a
Markdown construct, which a word-count cut would do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MORE = "<!--more-->"
SUMMARY_WORDS = 70

_BLOCK_SPLIT = re.compile(r"\n[ \t]*\n")
_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)")
_SENTENCE_END = frozenset(".!?")


@dataclass(frozen=True, slots=True)
class Summary:
    summary: str
    body: str
    """The whole body with the marker removed."""
    truncated: bool


def _blocks(markdown: str) -> list[str]:
    """Paragraph-level blocks; a fenced code block stays one block even with blank lines."""
    raw = _BLOCK_SPLIT.split(markdown.strip("\n"))
    blocks: list[str] = []
    fence: str | None = None
    for part in raw:
        if fence is not None:
            blocks[-1] += "\n\n" + part
        else:
            blocks.append(part)
        for line in part.split("\n"):
            found = _FENCE.match(line)
            if found:
                fence = None if fence == found.group(1) else (fence or found.group(1))
    return [b for b in blocks if b.strip()]


def _safe_cut(block: str, words_needed: int) -> int | None:
    """Offset just after the first sentence end past ``words_needed`` words, outside markup."""
    words = 0
    in_word = False
    depth = 0  # [ ] and ( ) of links
    code = False
    emphasis = 0
    i = 0
    n = len(block)
    while i < n:
        ch = block[i]
        if ch == "`":
            code = not code
        elif not code:
            if ch in "[(":
                depth += 1
            elif ch in "])":
                depth = max(0, depth - 1)
            elif ch in "*_" and (i + 1 < n and block[i + 1] == ch):
                emphasis ^= 1
                i += 1
        if ch.isspace():
            if in_word:
                words += 1
            in_word = False
        else:
            in_word = True
        if (
            words >= words_needed
            and ch in _SENTENCE_END
            and not code
            and depth == 0
            and emphasis == 0
            and (i + 1 == n or block[i + 1].isspace())
        ):
            return i + 1
        i += 1
    return None


def _word_count(text: str) -> int:
    return len(text.split())


def automatic(body: str, words: int = SUMMARY_WORDS) -> str:
    """Whole blocks until ``words`` words, the last one cut at a safe sentence end."""
    taken: list[str] = []
    count = 0
    for block in _blocks(body):
        block_words = _word_count(block)
        if count + block_words < words:
            taken.append(block)
            count += block_words
            continue
        is_prose = not block.lstrip().startswith(("#", "```", "~~~", "|", "<", ">", "    "))
        cut = _safe_cut(block, words - count) if is_prose else None
        taken.append(block[:cut] if cut is not None else block)
        break
    return "\n\n".join(taken).strip()


def _normal(text: str) -> str:
    return " ".join(text.split())


def summarize(body: str, words: int = SUMMARY_WORDS) -> Summary:
    """Split off the summary; ``truncated`` says whether the body has more to read."""
    head, marker, tail = body.partition(MORE)
    if marker:
        full = head.rstrip() + ("\n\n" + tail.lstrip("\n") if tail.strip() else "")
        return Summary(head.strip(), full.strip("\n") + "\n", bool(tail.strip()))
    summary = automatic(body, words)
    return Summary(summary, body, _normal(summary) != _normal(body))
