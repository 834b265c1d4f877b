"""Rendering an issue: the theme, the inlined HTML, the plain-text twin and the subject."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from digestmail.errors import ConfigError, HeaderInjectionError, TemplateError
from digestmail.models import Issue, Post
from digestmail.render import placeholders
from digestmail.render.theme import GMAIL_CLIP_BYTES, render_issue
from tests.helpers.render import (
    make_config,
    make_post,
    make_selection,
    monthly,
    post_from_fixture,
)


def render(tmp_path: Path, *posts: Post, site: dict[str, str] | None = None, **lists: str) -> Issue:
    config = make_config(tmp_path, site=site, lists=lists or None)
    return render_issue(make_selection(*posts), config=config, list_cfg=monthly(config))


def seed(**overrides: str) -> Post:
    """The seed-shaped fixture with its whole body as summary, so every line is mailed."""
    post = post_from_fixture("kommune.md")
    return post_from_fixture("kommune.md", summary=post.body, **overrides)


def test_seed_shaped_post_renders_with_one_h1_and_its_words_intact(tmp_path: Path) -> None:
    issue = render(tmp_path, seed())
    html = issue.html
    assert len(re.findall(r"<h1[\s>]", html)) == 1
    assert re.search(r"<h3[^>]*>Stadtteil gemeinsam entwickeln</h3>", html)
    assert re.search(r"<h4[^>]*>Dialogformate zwischen Bürger\*innen,</h4>", html)
    assert "<em>" not in html
    assert re.search(
        r'<a href="https://www.example.net/werkstatt/stadtteil_2018/" title="werkstatt"[^>]*>'
        r"hier!</a>",
        html,
    )
    assert "Bürger*innen" in issue.text
    assert "für" in issue.text
    assert "hier! [1]" in issue.text


def test_the_issue_knows_its_id_period_posts_and_subject(tmp_path: Path) -> None:
    post = seed()
    issue = render(tmp_path, post)
    assert issue.id == "monthly-2017-11"
    assert issue.period == "2017-11"
    assert issue.list_name == "monthly"
    assert issue.subject == "Veranstaltungstipps – November 2017"
    assert [(r.rel_path, r.permalink) for r in issue.posts] == [(post.rel_path, post.permalink)]


def test_each_tip_has_headline_date_summary_and_read_more(tmp_path: Path) -> None:
    post = make_post(title="Werkstatt in Jena", summary="Ein *schöner* Tag.", day=14)
    html = render(tmp_path, post).html
    headline = re.search(r'<h2[^>]*><a href="([^"]+)"[^>]*>Werkstatt in Jena</a></h2>', html)
    assert headline
    assert headline.group(1) == post.permalink
    assert "14. November 2017" in html
    assert "<em>schöner</em>" in html
    assert re.search(rf'<a [^>]*href="{re.escape(post.permalink)}"[^>]*>Weiterlesen', html)


def test_english_site_gets_english_labels_and_dates(tmp_path: Path) -> None:
    issue = render(tmp_path, make_post(day=14), site={"language": "en"})
    assert "Read more" in issue.html
    assert "November 14, 2017" in issue.html
    assert 'lang="en"' in issue.html
    assert "Unsubscribe" in issue.text


def test_titles_are_escaped_in_html_and_plain_in_text(tmp_path: Path) -> None:
    issue = render(tmp_path, make_post(title="<script>alert(1)</script> Tipps & Tricks"))
    assert "<script" not in issue.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Tipps &amp; Tricks" in issue.html
    assert "<script>alert(1)</script> Tipps & Tricks" in issue.text


def test_thumbnail_is_absolute_with_the_title_as_alt(tmp_path: Path) -> None:
    bundle = make_post(title="Mit Bild", slug="mit-bild", thumbnail="titel.jpg", bundle=True)
    plain = make_post(title="Auch Bild", slug="auch", thumbnail="/images/b.png")
    html = render(tmp_path, bundle, plain).html
    assert re.search(rf'<img [^>]*src="{re.escape(bundle.permalink)}titel.jpg"[^>]*>', html)
    assert re.search(r'<img [^>]*src="https://example.org/images/b.png"', html)
    for img in re.findall(r"<img [^>]+>", html):
        assert 'alt="' in img
    assert re.search(r'<img [^>]*alt="Mit Bild"', html)


def test_relative_links_in_summaries_become_absolute(tmp_path: Path) -> None:
    post = make_post(summary="[Programm](/programm/) und ![Karte](karte.png)", bundle=True)
    html = render(tmp_path, post).html
    assert 'href="https://example.org/programm/"' in html
    assert f'src="{post.permalink}karte.png"' in html
    assert not re.search(r'(href|src)="(?!https?:|mailto:|DM7SLOT)', html)


def test_email_layout_rules(tmp_path: Path) -> None:
    html = render(tmp_path, make_post(title="Erster Tipp"), make_post(title="Zweiter")).html
    assert html.startswith("<!DOCTYPE html>")
    assert 'lang="de"' in html
    assert '<meta name="color-scheme" content="light dark">' in html
    tables = re.findall(r"<table[^>]*>", html)
    assert tables
    assert all('role="presentation"' in t for t in tables)
    assert "<script" not in html
    assert "<link" not in html
    assert "@import" not in html
    # The preheader carries the first tip's title, hidden.
    preheader = re.search(r'<div class="preheader" style="([^"]*)">([^<]*)', html)
    assert preheader
    assert "display:none" in preheader.group(1)
    assert preheader.group(2).startswith("Erster Tipp")


def test_css_is_inlined_and_media_queries_keep_important(tmp_path: Path) -> None:
    html = render(tmp_path, make_post()).html
    assert re.search(r'<td class="tip" style=[^>]*padding:24px', html)
    styles = re.findall(r"<style[^>]*>(.*?)</style>", html, re.DOTALL)
    assert len(styles) == 1
    kept = styles[0]
    assert "@media only screen and (max-width: 620px)" in kept
    assert "padding: 20px 16px !important" in kept
    assert "prefers-color-scheme: dark" in kept
    # Only @media and :root rules stay in the style block; the rest went inline.
    outside_media = re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*\s*\}", "", kept)
    assert ".tip" not in outside_media


def test_outlook_ghost_table_survives_inlining(tmp_path: Path) -> None:
    html = render(tmp_path, make_post()).html
    opening = re.search(r"<!--\[if mso\]><table[^>]*width=\"600\".*?<!\[endif\]-->", html)
    closing = "<!--[if mso]></td></tr></table><![endif]-->"
    assert opening
    assert closing in html
    assert opening.start() < html.index('class="container"') < html.index(closing)


def test_recipient_tokens_survive_in_text_and_href(tmp_path: Path) -> None:
    issue = render(tmp_path, make_post())
    assert f'href="{placeholders.Slot.UNSUBSCRIBE_URL.value}"' in issue.html
    assert placeholders.Slot.EMAIL.value in issue.html
    assert placeholders.Slot.UNSUBSCRIBE_URL.value in issue.text
    assert placeholders.PERSONAL_START in issue.html


def test_tokens_from_content_are_defused(tmp_path: Path) -> None:
    sneaky = f"Klick {placeholders.Slot.UNSUBSCRIBE_URL.value} {placeholders.PERSONAL_END}"
    issue = render(tmp_path, make_post(title=sneaky, summary=sneaky))
    assert issue.html.count(placeholders.Slot.UNSUBSCRIBE_URL.value) == 1
    assert issue.text.count(placeholders.Slot.UNSUBSCRIBE_URL.value) == 1
    assert issue.html.count(placeholders.PERSONAL_END) == 1


def test_a_token_rebuilt_by_removing_one_inside_it_is_defused_too(tmp_path: Path) -> None:
    nested = "DM7SLOT_NA" + placeholders.Slot.EMAIL.value + "ME_7DM"  # DM7SLOT_NAME_7DM once cut
    issue = render(tmp_path, make_post(title=f"Hallo {nested}", summary=nested))
    assert placeholders.Slot.NAME.value not in issue.html + issue.text
    assert issue.text.count(placeholders.Slot.EMAIL.value) == 1  # the theme's own, in the footer


def test_tags_categories_and_params_reach_themes_defused(tmp_path: Path) -> None:
    from digestmail.render.context import _tip, image_site
    from digestmail.render.images import Renditions
    from tests.helpers.render import make_config

    token = placeholders.Slot.EMAIL.value
    post = dataclasses.replace(
        make_post(),
        tags=(f"a{token}",),
        categories=(f"k{token}",),
        params={"ort": token, "liste": [token, {"tief": token}]},
    )
    config = make_config(tmp_path)
    monthly = config.get_list("monthly")
    tip = _tip(post, config, monthly, Renditions(image_site(config, monthly)))
    assert token not in repr((tip["tags"], tip["categories"], tip["params"]))
    assert tip["params"] == {"ort": "", "liste": ["", {"tief": ""}]}


def test_plain_text_is_wrapped_and_complete(tmp_path: Path) -> None:
    posts = [seed(), make_post(title="Zweiter Tipp", summary="Kurz.", slug="zwei")]
    issue = render(tmp_path, *posts, site={"archive_url": "https://example.org/archiv/"})
    text = issue.text
    for line in text.splitlines():
        assert len(line) <= 76 or " " not in line.split(": ", 1)[-1], line
    assert "Testnetz Beteiligung" in text
    assert "November 2017" in text
    assert "Zweiter Tipp" in text
    assert "Weiterlesen: https://example.org/veranstaltungstipp/2017/11/zwei/" in text
    assert "https://example.org/archiv/monthly/monthly-2017-11.html" in text
    assert "Abmelden" in text
    assert "<" not in text.replace("<script", "")


def test_web_version_link_only_with_an_archive(tmp_path: Path) -> None:
    without = render(tmp_path, make_post())
    assert "archiv" not in without.html
    with_archive = render(tmp_path, make_post(), site={"archive_url": "https://example.org/a"})
    assert 'href="https://example.org/a/monthly/monthly-2017-11.html"' in with_archive.html


def test_twenty_tips_stay_under_gmail_clipping(tmp_path: Path) -> None:
    body = (post_from_fixture("kommune.md").body + "\n") * 2
    posts = [
        make_post(title=f"Tipp {n}", slug=f"tipp-{n}", summary=body, thumbnail="/img/t.jpg")
        for n in range(20)
    ]
    issue = render(tmp_path, *posts)
    assert len(issue.html.encode("utf-8")) < 100 * 1024 < GMAIL_CLIP_BYTES


def test_empty_selection_still_renders(tmp_path: Path) -> None:
    issue = render(tmp_path)
    assert "keine neuen Beiträge" in issue.html
    assert issue.posts == ()


def test_subject_template_sees_list_and_issue(tmp_path: Path) -> None:
    issue = render(
        tmp_path,
        make_post(),
        make_post(slug="b"),
        subject="{{ issue.tip_count }} Tipps für {{ issue.period_label }} ({{ list.key }}) – Grüße",
    )
    assert issue.subject == "2 Tipps für November 2017 (monthly) – Grüße"


def test_subject_with_line_break_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HeaderInjectionError, match=r"lists\.monthly\.subject"):
        render(tmp_path, make_post(), subject="Tipps\r\nBcc: victim@example.org")
    with pytest.raises(HeaderInjectionError):
        render(tmp_path, make_post(title="Tipp\nBcc: x@example.org"), subject="{{ tips[0].title }}")


def test_broken_subject_template_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"lists\.monthly\.subject"):
        render(tmp_path, make_post(), subject="{{ issue.nope }}")


def write_theme(folder: Path, html: str, text: str = "{{ site.title }}\n", css: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "digest.html.j2").write_text(html, encoding="utf-8")
    (folder / "digest.txt.j2").write_text(text, encoding="utf-8")
    (folder / "digest.css").write_text(css, encoding="utf-8")


def test_user_theme_folder_is_used(tmp_path: Path) -> None:
    write_theme(
        tmp_path / "themes" / "eigen",
        "<html><head><style>{{ css }}</style></head><body><p class='x'>{{ site.title }} "
        "&amp; {{ tips|length }}</p></body></html>",
        css=".x { color: #123456; }",
    )
    issue = render(tmp_path, make_post(), template="themes/eigen")
    assert 'style="color:#123456"' in issue.html
    assert "Testnetz Beteiligung &amp; 1" in issue.html
    assert issue.text == "Testnetz Beteiligung\n"


def test_project_templates_override_the_default_theme_file_by_file(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "digest.css").write_text(".tip { color: #abcdef; }")
    issue = render(tmp_path, make_post())
    assert re.search(r'<td class="tip" style=[^>]*color:#abcdef', issue.html)
    assert "Weiterlesen" in issue.html  # the default digest.html.j2 is still used


def test_missing_theme_folder_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"lists\.monthly\.template"):
        render(tmp_path, make_post(), template="themes/gibtsnicht")


def test_missing_template_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "themes" / "halb"
    write_theme(folder, "<p>{{ site.title }}</p>")
    (folder / "digest.txt.j2").unlink()
    with pytest.raises(TemplateError, match=r"digest\.txt\.j2"):
        render(tmp_path, make_post(), template="themes/halb")


def template_error(tmp_path: Path, html: str) -> str:
    """The error a theme whose HTML template is ``html`` stops rendering with."""
    write_theme(tmp_path / "themes" / "kaputt", html)
    with pytest.raises(TemplateError) as caught:
        render(tmp_path, make_post(), template="themes/kaputt")
    return str(caught.value)


def test_template_errors_name_file_and_line(tmp_path: Path) -> None:
    assert re.search(
        r"digest\.html\.j2:3",
        template_error(tmp_path, "<p>\n{{ site.title }}\n{{ site.nope }}\n</p>"),
    )
    assert re.search(r"digest\.html\.j2:2", template_error(tmp_path, "<p>\n{% if %}\n</p>"))


def test_a_missing_include_and_a_python_error_say_where_and_what(tmp_path: Path) -> None:
    missing = template_error(tmp_path, "<p>\n{% include 'fehlt.j2' %}\n</p>")
    assert re.search(r"digest\.html\.j2:2: fehlt\.j2: template not found", missing)
    no_key = template_error(tmp_path, "<p>\n{{ {}['period'] }}\n</p>")
    assert re.search(r"digest\.html\.j2:2: .*'period'", no_key)
    python = template_error(tmp_path, "<p>\n{{ '{x}'.format(y=1) }}\n</p>")
    assert re.search(r"digest\.html\.j2:2: KeyError: 'x'", python)


def test_css_syntax_error_names_the_stylesheet_instead_of_dropping_styles(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "digest.css").write_text(".tip { color: ", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"digest\.css: CSS syntax error"):
        render(tmp_path, make_post())


def test_a_css_error_names_line_and_column_in_one_short_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "templates").mkdir()
    rules = "".join(f".r{i} {{ color: #{i:06d}; }}\n" for i in range(200))
    css = ".a { color: red; }\n.kaputt { color: red;\n" + rules
    (tmp_path / "templates" / "digest.css").write_text(css, encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        render(tmp_path, make_post())
    message = str(caught.value)
    assert re.search(r"digest\.css:\d+:\d+: CSS syntax error: ", message), message
    assert len(message) < 400, "no quote of the whole stylesheet"
    assert "ERROR" not in capfd.readouterr().err, "cssutils printed nothing of its own"


def test_outlook_properties_are_not_css_errors(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    css = ".tip { mso-line-height-rule: exactly; color: #abcdef; }"
    (tmp_path / "templates" / "digest.css").write_text(css, encoding="utf-8")
    assert "color:#abcdef" in render(tmp_path, make_post()).html
