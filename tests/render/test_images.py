"""Images every client shows: renditions of WebP, AVIF, SVG and huge images in the archive."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image

from tests.helpers.cli import Cli
from tests.helpers.project import MakeProject

ARCHIVE_URL = "https://example.org/archiv/"


def tip(title: str, *, thumbnail: str = "", body: str = "Ein Tipp.", day: int = 10) -> str:
    return (
        f'---\ntitle: "{title}"\ndate: "2026-10-{day:02d}"\ncategories: "veranstaltungstipp"\n'
        f'thumbnail: "{thumbnail}"\n---\n\n{body}\n'
    )


def with_archive(config: str) -> str:
    return config.replace(
        'timezone = "Europe/Berlin"\n',
        f'timezone = "Europe/Berlin"\narchive_url = "{ARCHIVE_URL}"\n',
    )


def picture(path: Path, size: tuple[int, int], *, mode: str = "RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = (30, 120, 110, 128) if mode == "RGBA" else (30, 120, 110)
    Image.new(mode, size, colour).save(path)
    return path


def build(cli: Cli, cfg: Path) -> tuple[str, str]:
    """The built HTML and what build said on stderr."""
    out = cfg.parent.parent / "out"
    done = cli.invoke(
        "--config", str(cfg), "build", "--list", "monthly", "--period", "2026-10",
        "--now", "2026-11-02T09:00", "--out", str(out),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    return (out / "monthly-2026-10.html").read_text(encoding="utf-8"), done.output


def images_in(html: str) -> list[str]:
    return re.findall(r"<img [^>]*>", html)


def test_a_webp_thumbnail_is_sent_as_a_jpeg_copy_in_the_archive(
    make_project: MakeProject, cli: Cli
) -> None:
    from tests.helpers.project import BASE_CONFIG

    cfg = make_project(
        posts={"veranstaltungstipp/a.md": tip("Mit Bild", thumbnail="/images/seminar.webp")},
        config=with_archive(BASE_CONFIG),
    )
    picture(cfg.parent.parent / "static" / "images" / "seminar.webp", (800, 400))
    html, _ = build(cli, cfg)
    (img,) = images_in(html)
    src = re.search(r'src="([^"]+)"', img)
    assert src is not None and src.group(1).startswith(ARCHIVE_URL + "monthly/images/")
    assert src.group(1).endswith(".jpg")
    assert 'width="552"' in img and 'height="276"' in img
    copy = cfg.parent.parent / "archive" / "monthly" / "images" / src.group(1).rsplit("/", 1)[1]
    with Image.open(copy) as made:
        assert (made.format, made.size) == ("JPEG", (800, 400))


def test_avif_svg_and_huge_images_in_a_summary_get_copies_too(
    make_project: MakeProject, cli: Cli
) -> None:
    from tests.helpers.project import BASE_CONFIG

    body = (
        "![Plakat](/images/plakat.avif)\n\n![Logo](/images/logo.svg)\n\n"
        "![Foto](/images/foto.png)\n\n![Klein](/images/klein.png)"
    )
    cfg = make_project(
        posts={"veranstaltungstipp/a.md": tip("Bilder", body=body)},
        config=with_archive(BASE_CONFIG),
    )
    static = cfg.parent.parent / "static" / "images"
    picture(static / "plakat.avif", (600, 600))
    (static / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100">'
        '<circle cx="50" cy="50" r="40" fill="#0b5f5a"/></svg>',
        encoding="utf-8",
    )
    picture(static / "foto.png", (3000, 1500))
    picture(static / "klein.png", (300, 200))
    html, _ = build(cli, cfg)
    sources = dict(re.findall(r'<img [^>]*?alt="([^"]+)"[^>]*?src="([^"]+)"', html))
    if not sources:  # attribute order differs: read them apart
        sources = {
            re.search(r'alt="([^"]+)"', i).group(1): re.search(r'src="([^"]+)"', i).group(1)  # type: ignore[union-attr]
            for i in images_in(html)
        }
    archive = cfg.parent.parent / "archive" / "monthly" / "images"
    for alt in ("Plakat", "Logo", "Foto"):
        assert sources[alt].startswith(ARCHIVE_URL), alt
        with Image.open(archive / sources[alt].rsplit("/", 1)[1]) as made:
            assert made.format in ("JPEG", "PNG") and made.width <= 1200, alt
    with Image.open(archive / sources["Logo"].rsplit("/", 1)[1]) as logo:
        assert logo.format == "PNG"  # the SVG is transparent around its circle
    assert sources["Klein"] == "https://example.org/images/klein.png"  # fine as it is


def test_an_image_that_cannot_be_copied_is_left_out_with_a_warning(
    make_project: MakeProject, cli: Cli
) -> None:
    posts = {
        "veranstaltungstipp/a.md": tip("Fehlt", thumbnail="/images/fehlt.webp"),
        "veranstaltungstipp/b.md": tip("Ohne Archiv", body="![Bild](/images/da.webp)", day=12),
        "veranstaltungstipp/c.md": tip("Fremd", thumbnail="https://cdn.example.net/x.webp", day=14),
    }
    cfg = make_project(posts=posts)  # no archive_url
    picture(cfg.parent.parent / "static" / "images" / "da.webp", (100, 100))
    html, said = build(cli, cfg)
    assert "fehlt.webp" not in html and "/images/da.webp" not in html
    assert images_in(html) == [img for img in images_in(html) if "cdn.example.net/x.webp" in img]
    said = " ".join(said.split())
    assert "image https://example.org/images/fehlt.webp: WEBP" in said
    assert "site.archive_url is not set" in said
    done = cli.invoke("--config", str(cfg), "check", "--now", "2026-11-02T09:00")
    assert "fehlt.webp" in " ".join(done.output.split())


def test_a_page_bundle_image_is_found_next_to_its_post(make_project: MakeProject, cli: Cli) -> None:
    from tests.helpers.project import BASE_CONFIG

    cfg = make_project(
        posts={"veranstaltungstipp/werkstatt/index.md": tip("Bündel", body="![Plan](plan.webp)")},
        config=with_archive(BASE_CONFIG),
    )
    picture(
        cfg.parent.parent / "content" / "veranstaltungstipp" / "werkstatt" / "plan.webp", (90, 60)
    )
    html, _ = build(cli, cfg)
    (img,) = images_in(html)
    assert ARCHIVE_URL + "monthly/images/" in img and 'height="368"' in img
