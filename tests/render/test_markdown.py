"""A post's Markdown as email HTML and plain text: what an editor wrote arrives intact."""

from __future__ import annotations

import re

import pytest

from digestmail.render.markdown import render_markdown
from digestmail.render.plaintext import wrap_text
from tests.helpers.render import post_from_fixture

SITE = "https://example.org/"
PAGE = "https://example.org/veranstaltungstipp/2017/11/kommune/"


def test_seed_shaped_post_keeps_its_words_and_shifts_its_headings() -> None:
    post = post_from_fixture("kommune.md")
    out = render_markdown(post.body, base=SITE)
    html = str(out.html)
    assert "<h1" not in html
    assert "<h2" not in html
    assert "<h3>Stadtteil gemeinsam entwickeln</h3>" in html
    assert "<h4>Dialogformate zwischen Bürger*innen,</h4>" in html
    assert "<h5>Verwaltung und Politik ausprobieren</h5>" in html
    assert "Anwohner/innen" in html
    assert "großen" in html
    assert "<em>" not in html


def test_link_whose_title_is_on_the_next_line_stays_a_link() -> None:
    post = post_from_fixture("kommune.md")
    html = str(render_markdown(post.body, base=SITE).html)
    assert (
        '<a href="https://www.example.net/werkstatt/stadtteil_2018/" title="werkstatt">hier!</a>'
        in html
    )
    assert "[hier!]" not in html


def test_gender_star_is_never_emphasis_but_real_emphasis_still_works() -> None:
    html = str(
        render_markdown("Bürger*innen und Einwohner*innen, *wirklich* **fett**", base=SITE).html
    )
    assert "Bürger*innen und Einwohner*innen" in html
    assert "<em>wirklich</em>" in html
    assert "<strong>fett</strong>" in html


def test_no_smart_quotes_in_german_text() -> None:
    html = str(render_markdown('Sie sagte "Hallo" -- und ging...', base=SITE).html)
    assert "&quot;Hallo&quot;" in html or '"Hallo"' in html
    assert "“" not in html
    assert "–" not in html


def test_relative_links_and_images_become_absolute() -> None:
    source = "[Programm](/programm/) [rel](anmeldung/) ![Karte](/images/karte.png) [a](#ort)"
    html = str(render_markdown(source, base=SITE).html)
    assert 'href="https://example.org/programm/"' in html
    assert 'href="https://example.org/anmeldung/"' in html
    assert 'src="https://example.org/images/karte.png"' in html
    assert 'href="https://example.org/#ort"' in html


def test_page_bundle_images_resolve_against_the_permalink() -> None:
    html = str(render_markdown("![Foto](foto.jpg)", base=PAGE).html)
    assert f'src="{PAGE}foto.jpg"' in html


def test_absolute_and_mailto_links_are_kept() -> None:
    source = "[x](https://other.example/a?b=1&c=2) <mailto:info@example.org>"
    html = str(render_markdown(source, base=SITE).html)
    assert 'href="https://other.example/a?b=1&amp;c=2"' in html
    assert "mailto:" in html


def test_javascript_links_lose_their_target() -> None:
    html = str(render_markdown("[klick](javascript:alert(1))", base=SITE).html)
    assert "javascript" not in html
    assert "<a" not in html and "klick" in html  # the words stay, no dead link


def test_images_get_alt_width_and_cannot_overflow() -> None:
    html = str(render_markdown("![](bild.png)", base=SITE, alt="Werkstatt").html)
    img = re.search(r"<img [^>]+>", html)
    assert img
    assert 'alt="Werkstatt"' in img.group(0)
    assert 'width="552"' in img.group(0)
    assert "max-width:100%" in img.group(0)
    assert "height:auto" in img.group(0)


def test_raw_html_in_a_post_is_dropped_but_its_text_stays() -> None:
    source = (
        'Vorher <span style="color:red">rot</span> <script>alert("x")</script>\n\n<div>Block</div>'
    )
    html = str(render_markdown(source, base=SITE).html)
    assert "<script" not in html
    assert "<span" not in html
    assert "<div" not in html
    assert "rot" in html
    assert "Block" in html


def test_plain_text_reads_on_its_own() -> None:
    post = post_from_fixture("kommune.md")
    text = render_markdown(post.body, base=SITE).text
    assert "Stadtteil gemeinsam entwickeln" in text
    assert "Bürger*innen" in text
    assert "**" not in text
    assert "<" not in text
    assert "hier! [1]" in text
    assert "[1] https://www.example.net/werkstatt/stadtteil_2018/" in text
    # Soft line breaks of the source are re-wrapped, not kept.
    assert "Anwohner/innen früh an der Planung" in text
    for line in text.splitlines():
        assert len(line) <= 76 or not line.count(" ") or line.startswith("[")


def test_plain_text_lists_quotes_and_code() -> None:
    source = "- eins\n- zwei\n\n1. erstens\n2. zweitens\n\n> zitiert\n\n```\na  b\n  c\n```\n"
    text = render_markdown(source, base=SITE).text
    assert "- eins\n- zwei" in text
    assert "1. erstens\n2. zweitens" in text
    assert "> zitiert" in text
    assert "    a  b\n      c" in text


def test_wrap_text_never_breaks_urls() -> None:
    url = "https://example.org/" + "x" * 90
    wrapped = wrap_text(f"Mehr dazu unter {url} und anderswo " + "wort " * 30)
    assert url in wrapped.split("\n")
    assert all(len(line) <= 76 for line in wrapped.split("\n") if line != url)


def test_the_text_part_reads_like_the_html_code_nested_lists_and_links() -> None:
    source = (
        "Nutzen Sie `<br>` und `a && b`.\n\n"
        "- eins\n    - zwei\n        - drei\n- vier\n\n"
        "[Über uns](https://example.org/über uns/) und [Rathaus](https://bücher.example/a?q=ä)"
    )
    rendered = render_markdown(source, base=SITE)
    text = rendered.text
    assert "Nutzen Sie <br> und a && b." in text
    assert "- eins\n  - zwei\n    - drei\n- vier" in text
    assert "[1] https://example.org/%C3%BCber%20uns/" in text
    assert "[2] https://xn--bcher-kva.example/a?q=%C3%A4" in text
    assert 'href="https://example.org/%C3%BCber%20uns/"' in str(rendered.html)


def test_style_and_script_blocks_vanish_with_their_contents() -> None:
    source = (
        "Vorher.\n\n<style>\nbody{display:none}\n</style>\n\n<SCRIPT>alert(1)</SCRIPT> Nachher."
    )
    rendered = render_markdown(source, base=SITE)
    for part in (str(rendered.html), rendered.text):
        assert "display" not in part and "alert" not in part
        assert "Vorher." in part and "Nachher." in part


def test_an_unsafe_image_leaves_no_empty_frame_only_its_alt_text() -> None:
    html = str(render_markdown("![Plakat zum Fest](javascript:x)", base=SITE).html)
    assert "<img" not in html and "javascript" not in html
    assert "Plakat zum Fest" in html


def test_quotes_and_angle_brackets_in_an_ascii_url_are_encoded() -> None:
    rendered = render_markdown('[a](https://ex.org/a"b<c>)', base=SITE)
    assert "[1] https://ex.org/a%22b%3Cc%3E" in rendered.text


@pytest.mark.parametrize(
    ("source", "nested"),
    [
        ("- a\n  - b\n    - c\n- d", "<li>a<ul>\n<li>b<ul>\n<li>c</li>"),  # 2 spaces, as Hugo
        ("- a\n    - b\n        - c\n- d", "<li>a<ul>\n<li>b<ul>\n<li>c</li>"),  # 4 spaces
        ("1. eins\n2. zwei\n   1. unter\n3. drei", "<li>zwei<ol>\n<li>unter</li>\n</ol>"),
        ("* a\n  * b\n* c", "<li>a<ul>\n<li>b</li>\n</ul>\n</li>\n<li>c</li>"),
    ],
)
def test_nested_lists_nest_as_hugo_nests_them(source: str, nested: str) -> None:
    assert nested in str(render_markdown(source, base=SITE).html)


def test_an_item_with_two_paragraphs_and_code_inside_stays_one_item() -> None:
    html = str(render_markdown("- a\n\n  weiter\n\n      code\n- b", base=SITE).html)
    assert "<p>weiter</p>" in html and "<pre><code>code" in html
    assert html.count("<li>") == 2
    assert "<p>Text</p>\n<pre><code>code" in str(
        render_markdown("Text\n\n    code\n", base=SITE).html
    ), "an indented code block outside a list is still code"


def test_strikethrough_and_bare_links_render_as_hugo_renders_them() -> None:
    source = (
        "Termin ~~12.10.~~ 19.10., Anmeldung: https://example.org/anmeldung?x=1 "
        "oder info@example.org. H~2~O bleibt Text."
    )
    rendered = render_markdown(source, base=SITE)
    html = str(rendered.html)
    assert "<del>12.10.</del> 19.10." in html
    assert '<a href="https://example.org/anmeldung?x=1">' in html
    assert '<a href="mailto:info@example.org">info@example.org</a>' in html  # no entities
    assert "H~2~O" in html
    assert "Termin ~~12.10.~~ 19.10." in rendered.text
    words = rendered.text.split()  # links whose text is the URL stay inline, no [n] refs
    assert "https://example.org/anmeldung?x=1" in words and "info@example.org." in words
    assert "[1]" not in rendered.text


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("Intro:\n\n    - kein Punkt\n    - Code", "<pre><code>- kein Punkt\n- Code\n"),
        ("    x = 1\n    - y", "<pre><code>x = 1\n- y\n"),
        ("```\n~~~\n- a\n  - b\n```", "<pre><code>~~~\n- a\n  - b\n"),  # another fence inside
    ],
)
def test_list_like_lines_in_code_stay_code(source: str, code: str) -> None:
    html = str(render_markdown(source, base=SITE).html)
    assert code in html and "<li>" not in html
