"""Summaries: the ``<!--more-->`` split when the post is read, Hugo's automatic summary when
it is rendered (counted on the rendered text, run on to the end of the sentence)."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from digestmail.content.summaries import summarize
from digestmail.render.markdown import render_markdown
from tests.helpers.content import post_from

FRONT = '---\ntitle: "T"\ndate: 2017-11-10\n---\n'
HUGO = shutil.which("hugo")


def words(n: int, start: int = 0) -> str:
    return " ".join(f"wort{i}" for i in range(start, start + n))


def summary_of(markdown: str, length: int = 70) -> tuple[str, bool]:
    """The automatic summary's plain text (one line) and whether it was cut."""
    rendered = render_markdown(markdown, base="https://example.org/", summary_words=length)
    text = html.unescape(re.sub(r"<[^>]*>", " ", str(rendered.html)))  # as Hugo's plainify
    return " ".join(text.split()), rendered.truncated


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
    post = post_from(tmp_path, FRONT + "Kurz. <!-- more --> Auch kurz.\n")
    assert post.summary is None  # Hugo 0.111 ignores the spaced form: an automatic summary
    assert not post.truncated


def test_without_a_marker_the_summary_is_left_to_rendering(tmp_path: Path) -> None:
    body = words(50) + ".\n\n" + words(30) + ". " + words(30) + ".\n"
    post = post_from(tmp_path, FRONT + body)
    assert post.summary is None
    assert post.body == body
    assert summarize(body).summary is None


def test_short_post_is_whole_and_not_truncated() -> None:
    assert summary_of("# Titel\n\nEin kurzer Absatz mit wenigen Worten.\n") == (
        "Titel Ein kurzer Absatz mit wenigen Worten.",
        False,
    )


def test_the_summary_runs_on_to_the_end_of_the_paragraph_holding_the_seventieth_word() -> None:
    first, second, third = words(40) + ".", words(40, 40) + " ohne Punkt", words(40, 80) + "."
    text, truncated = summary_of(f"{first}\n\n{second}\n\n{third}\n")
    assert text == f"{first} {second}"
    assert truncated


def test_the_summary_ends_at_the_sentence_holding_the_seventieth_word() -> None:
    sentence_a, sentence_b = words(60) + ".", words(20, 60) + "?"
    text, truncated = summary_of(f"{sentence_a} {sentence_b} {words(20, 80)}.\n")
    assert text == f"{sentence_a} {sentence_b}"
    assert truncated


def test_words_are_counted_on_the_rendered_text_not_the_markdown() -> None:
    # 60 words, a link whose URL and brackets are not words, then 20 more: the URL's dots do not
    # end the summary, and the count reaches 70 inside the link text.
    link = "[" + words(5, 60) + "](https://example.org/a.b.c/ziel.html)"
    text, _ = summary_of(f"{words(60)} {link} {words(10, 65)}. Danach mehr {words(20, 100)}.")
    assert text == f"{words(60)} {words(5, 60)} {words(10, 65)}."


def test_a_post_written_in_raw_html_gets_a_summary_not_its_whole_text() -> None:
    sentences = " ".join(f"Satz {i} hat Worte." for i in range(300))
    text, truncated = summary_of(f"<div><p>{sentences}</p></div>\n")
    assert 70 <= len(text.split()) <= 110
    assert text.endswith("hat Worte.")
    assert truncated


def test_a_cut_keeps_the_html_well_formed() -> None:
    inner = " ".join(["Satz."] * 20)
    rendered = render_markdown(
        words(65) + f" **{inner}** Schluss. Mehr.", base="https://x.org/", summary_words=70
    )
    assert str(rendered.html).count("<strong>") == str(rendered.html).count("</strong>") == 1
    assert "Schluss" not in rendered.html


def test_a_code_block_is_counted_but_never_cut_in_half() -> None:
    code = "```\n" + words(80) + ".\n\n" + words(5) + "\n```"
    rendered = render_markdown(code + "\n\nDanach.\n", base="https://x.org/", summary_words=70)
    assert words(5) in rendered.html and "Danach" not in rendered.html


def test_summary_length_is_a_setting() -> None:
    text, truncated = summary_of(words(30) + ". " + words(30, 30) + ".\n", length=10)
    assert text == words(30) + "."
    assert truncated


def hugo_summaries(tmp_path: Path, posts: dict[str, str]) -> dict[str, tuple[str, bool]]:
    """Each post's ``.Summary | plainify`` and ``.Truncated`` as Hugo 0.111 builds them."""
    site = tmp_path / "site"
    (site / "layouts" / "_default").mkdir(parents=True)
    (site / "content" / "p").mkdir(parents=True)
    (site / "hugo.toml").write_text(
        'baseURL = "https://example.org/"\n'
        'disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404", "home", '
        '"section"]\n'
        "[markup.goldmark.renderer]\nunsafe = true\n",
        encoding="utf-8",
    )
    (site / "layouts" / "_default" / "single.html").write_text(
        "{{ .Summary | plainify }}|{{ .Truncated }}", encoding="utf-8"
    )
    for name, body in posts.items():
        (site / "content" / "p" / f"{name}.md").write_text(FRONT + body, encoding="utf-8")
    assert HUGO is not None
    subprocess.run([HUGO, "--quiet", "--source", str(site)], check=True, timeout=120)
    out: dict[str, tuple[str, bool]] = {}
    for name in posts:
        page = (site / "public" / "p" / name / "index.html").read_text(encoding="utf-8")
        summary, _, flag = page.rpartition("|")
        out[name] = (" ".join(summary.split()), flag.strip() == "true")
    return out


@pytest.mark.hugo
@pytest.mark.skipif(HUGO is None, reason="hugo is not installed (apt-get install hugo)")
def test_automatic_summaries_agree_with_hugo(tmp_path: Path) -> None:
    posts = {
        "absaetze": f"# Titel\n\n{words(40)}.\n\n{words(40, 40)} ohne Punkt\n\n{words(40, 80)}.\n",
        "rohhtml": "<div><p>"
        + " ".join(f"Satz{i} hat Worte." for i in range(300))
        + "</p></div>\n",
        "kurz": "Kurz.\n",
        "link": f"{words(68)} [ein Link. mit Punkt](https://x.org/) und weiter. {words(30)}.\n",
        "liste": f"- {words(30)}\n- {words(30, 30)}\n- {words(30, 60)}\n\nDanach.\n",
        "ohne": words(100) + "\n",
        "fragen": f"{words(69)} wirklich? Ja! {words(20)}.\n",
    }
    theirs = hugo_summaries(tmp_path, posts)
    for name, body in posts.items():
        assert summary_of(body) == theirs[name], name
