"""Summaries: the ``<!--more-->`` split, and the automatic ~70-word summary that keeps Markdown."""

from __future__ import annotations

from pathlib import Path

import pytest

from digestmail.content.summaries import automatic, summarize
from tests.helpers.content import post_from

FRONT = '---\ntitle: "T"\ndate: 2017-11-10\n---\n'


def words(n: int, start: int = 0) -> str:
    return " ".join(f"wort{i}" for i in range(start, start + n))


def test_marker_splits_summary_and_is_removed_from_body(tmp_path: Path) -> None:
    post = post_from(tmp_path, FRONT + "Erster Absatz.\n\n<!--more-->\n\nZweiter Absatz.\n")
    assert post.summary == "Erster Absatz."
    assert post.truncated
    assert "<!--more-->" not in post.body
    assert "Erster Absatz." in post.body and "Zweiter Absatz." in post.body


def test_marker_at_the_end_is_not_truncated(tmp_path: Path) -> None:
    post = post_from(tmp_path, FRONT + "Alles.\n<!--more-->\n")
    assert post.summary == "Alles."
    assert not post.truncated


def test_only_the_exact_marker_counts_as_hugo_does(tmp_path: Path) -> None:
    text = FRONT + "Kurz. <!-- more --> Auch kurz.\n"
    post = post_from(tmp_path, text)
    assert "<!-- more -->" in post.summary  # Hugo 0.111 ignores the spaced form too
    assert not post.truncated


def test_short_post_without_marker_is_whole_and_not_truncated(tmp_path: Path) -> None:
    post = post_from(tmp_path, FRONT + "# Titel\n\nEin kurzer Absatz mit wenigen Worten.\n")
    assert post.summary == "# Titel\n\nEin kurzer Absatz mit wenigen Worten."
    assert not post.truncated


def test_automatic_summary_takes_whole_paragraphs_up_to_seventy_words(tmp_path: Path) -> None:
    first = words(40) + "."
    second = words(40, 40) + "."
    third = words(40, 80) + "."
    post = post_from(tmp_path, FRONT + f"{first}\n\n{second}\n\n{third}\n")
    assert post.summary == f"{first}\n\n{second}"
    assert post.truncated


def test_automatic_summary_ends_at_the_sentence_holding_the_seventieth_word() -> None:
    sentence_a = words(60) + "."
    sentence_b = words(20, 60) + "."
    sentence_c = words(20, 80) + "."
    summary = automatic(f"{sentence_a} {sentence_b} {sentence_c}")
    assert summary == f"{sentence_a} {sentence_b}"


def test_automatic_summary_never_cuts_inside_a_link() -> None:
    link_text = " ".join(["Link."] * 30)
    text = words(50) + f" [{link_text}](https://example.org/a.b) Ende. Noch ein Satz."
    summary = automatic(text)
    assert summary.count("[") == summary.count("]")
    assert summary.endswith("(https://example.org/a.b) Ende.")


def test_automatic_summary_keeps_a_long_heading_or_code_block_whole() -> None:
    code = "```\n" + words(80) + ".\n\n" + words(5) + "\n```"
    assert automatic(code + "\n\nDanach.") == code


@pytest.mark.parametrize("emphasis", ["**", "__"])
def test_automatic_summary_does_not_end_inside_emphasis(emphasis: str) -> None:
    inner = " ".join(["Satz."] * 20)
    text = words(65) + f" {emphasis}{inner}{emphasis} Schluss. Mehr."
    summary = automatic(text)
    assert summary.endswith(f"{emphasis} Schluss.")


def test_summarize_without_marker_reports_truncation_against_the_body() -> None:
    long_body = words(50) + ".\n\n" + words(30) + ". " + words(30) + ".\n"
    parts = summarize(long_body)
    assert parts.truncated
    assert parts.body == long_body
    assert not summarize("Kurz.\n").truncated
