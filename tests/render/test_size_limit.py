"""Issue 14, item 2 (render half): never drop content silently.

A single 50 MB word once cut the HTML part off inside premailer (lxml's text-node limit): two
tips and the unsubscribe footer were missing, exit 0. Posts are capped at 1 MiB by the content
reader now, so a post just under the cap stands in for it: the digest is refused with its size
and the post that made it so. The completeness check after inlining is tested by making the
inliner lose the end of the document, as lxml did.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from digestmail.config import load_config
from digestmail.errors import TemplateError
from digestmail.render import limits, theme
from tests.helpers.cli import Cli
from tests.helpers.project import MakeProject

NOW = "2017-12-02T08:00"
PERIOD = "2017-11"


def tip(title: str, day: int, body: str = "Ein ganz normaler Tipp.") -> str:
    return (
        f'---\ntitle: "{title}"\ndate: "2017-11-{day:02d}"\n'
        f"categories: veranstaltungstipp\n---\n{body}\n"
    )


HUGE = "veranstaltungstipp/riesig.md"
POSTS = {
    "veranstaltungstipp/normal.md": tip("Normal", 10),
    HUGE: tip("Riesig", 12, "x" * 900_000),
    "veranstaltungstipp/später.md": tip("Später", 14),
}


def test_build_refuses_an_oversized_digest_naming_the_post(
    make_project: MakeProject, cli: Cli
) -> None:
    cfg = make_project(posts=POSTS)
    done = cli.run("--config", str(cfg), "build", "--list", "monthly", "--period", PERIOD)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    error = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1, done.stderr
    assert "887 KB" in error[0] or "888 KB" in error[0], error[0]
    assert "limit of 512 KB" in error[0]
    assert str(cfg.parent.parent / "content" / HUGE) in error[0]
    assert not (cfg.parent.parent / "out").exists(), "nothing written for a refused issue"


def test_check_reports_it_too(make_project: MakeProject, cli: Cli) -> None:
    cfg = make_project(posts=POSTS)
    done = cli.invoke("--config", str(cfg), "check")
    assert done.exit_code == 2, done.output
    assert "riesig.md" in done.output
    assert "more than the limit" in done.output


def test_a_digest_under_the_limit_is_built(make_project: MakeProject, cli: Cli) -> None:
    posts = dict(POSTS)
    posts[HUGE] = tip("Groß", 12, "Wort " * 20_000)  # 100 KB, but the summary is 70 words
    cfg = make_project(posts=posts)
    done = cli.invoke("--config", str(cfg), "build", "--list", "monthly", "--period", PERIOD)
    assert done.exit_code == 0, done.output


def _issue(make_project: MakeProject, posts: dict[str, str]) -> None:
    from digestmail.app.issues import load_content, select_issue
    from digestmail.cli.common import resolve_now

    config = load_config(make_project(posts=posts))
    list_cfg = config.get_list("monthly")
    content = load_content(config)
    selection = select_issue(
        config, list_cfg, now=resolve_now(config, NOW), posts=content.posts, period=PERIOD
    )
    theme.render_issue(selection, config=config, list_cfg=list_cfg)


def test_html_cut_off_while_inlining_is_refused(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = theme.inline_css

    def lossy(html: str) -> str:  # what lxml did with a text node past its limit
        out = real(html)
        later = max(out.rindex("Normal"), out.rindex("Später"))
        return out[: out.rindex('<td class="tip"', 0, later)]  # the later tip goes, and the rest

    monkeypatch.setattr(theme, "inline_css", lossy)
    posts = {k: v for k, v in POSTS.items() if k != HUGE}
    with pytest.raises(TemplateError) as info:
        _issue(make_project, posts)
    message = str(info.value)
    assert "lost part of the digest's HTML" in message
    assert "the unsubscribe link" in message
    assert "the personal footer" in message
    assert "the tip of " in message
    assert ("später.md" in message) != ("normal.md" in message), "one tip is before the cut"


def test_umlaut_links_percent_encoded_by_lxml_count_as_kept() -> None:
    url = "https://example.org/veranstaltungstipp/2017/11/später/"
    tips = [limits.TipSize(Path("später.md"), 100, url)]
    rendered = f'<a href="{url}">x</a>'
    limits.require_complete(
        rendered,
        '<a href="https://example.org/veranstaltungstipp/2017/11/sp%C3%A4ter/">x</a>',
        tips=tips,
    )
    with pytest.raises(TemplateError, match=r"the tip of später\.md"):
        limits.require_complete(rendered, "<p>nothing</p>", tips=tips)
    limits.require_complete("<p>a theme without links</p>", "<p>nothing</p>", tips=tips)


def test_limit_is_far_above_gmail_clip_and_below_the_post_cap() -> None:
    from digestmail.content.reader import MAX_POST_BYTES

    assert theme.GMAIL_CLIP_BYTES < limits.MAX_HTML_BYTES < MAX_POST_BYTES


def test_sizes_are_checked_before_inlining(tmp_path: Path) -> None:
    big = limits.TipSize(tmp_path / "big.md", 600_000)
    small = limits.TipSize(tmp_path / "small.md", 100)
    with pytest.raises(TemplateError, match=r"largest tip is .*big\.md \(586 KB\)"):
        limits.refuse_oversized("x" * 600_000, [small, big], stage="before inlining its CSS")
    limits.refuse_oversized("x" * limits.MAX_HTML_BYTES, [big], stage="with its CSS inlined")
