"""Reading the Hugo site's own config: where it is found, what is taken, and the errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from digestmail.app.check import run_checks
from digestmail.config import load_config
from digestmail.errors import ConfigError
from tests.config.hugo_sites import LIST, make_site

BASIC = 'baseURL = "https://ex.org/netz"\ntitle = "Netz"\ntimeZone = "Europe/Berlin"\n'


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_values_taken_from_hugo_toml(tmp_path: Path) -> None:
    hugo = BASIC + 'contentDir = "inhalt"\nsummaryLength = 30\nlanguageCode = "de-AT"\n'
    config = load_config(make_site(tmp_path, hugo=hugo, posts={}))
    site = config.site
    assert (site.base_url, site.title, str(site.timezone)) == (
        "https://ex.org/netz/",
        "Netz",
        "Europe/Berlin",
    )
    assert site.content_dir == tmp_path / "inhalt"
    assert (site.summary_length, site.language) == (30, "de-AT")
    shown = [str(t) for t in site.hugo_settings.taken]
    assert "site.base_url = https://ex.org/netz/ (from hugo.toml: baseURL)" in shown
    assert "site.title = Netz (from hugo.toml: title)" in shown


def test_digestmail_site_keys_win(tmp_path: Path) -> None:
    ours = '[site]\ntitle = "Digest"\nbase_url = "https://other.org/"\n'
    config = load_config(make_site(tmp_path, hugo=BASIC, posts={}, digestmail=ours))
    assert (config.site.title, config.site.base_url) == ("Digest", "https://other.org/")
    assert str(config.site.timezone) == "Europe/Berlin"  # still from Hugo


def test_keys_are_case_insensitive_and_yaml_works(tmp_path: Path) -> None:
    hugo = "BASEURL: https://ex.org/\nTitle: Netz\nPermaLinks:\n  Post: /:section/:slug/\n"
    config = load_config(make_site(tmp_path, hugo=hugo, posts={}, hugo_file="config.yaml"))
    assert config.site.base_url == "https://ex.org/"
    assert config.site.permalinks == {"post": "/:section/:slug/"}


def test_hugo_toml_wins_over_config_toml(tmp_path: Path) -> None:
    write(tmp_path / "config.toml", 'baseURL = "https://old.org/"\ntitle = "Old"\n')
    config = load_config(make_site(tmp_path, hugo=BASIC, posts={}))
    assert config.site.title == "Netz"


def test_config_directory_merges_per_key_files(tmp_path: Path) -> None:
    default = tmp_path / "config" / "_default"
    write(default / "hugo.toml", BASIC)
    write(default / "languages.toml", "[de]\nweight = 1\n[en]\nweight = 2\n")
    write(default / "permalinks.toml", 'post = "/:year/:slug/"\n')
    write(default / "params.de.toml", "x = 1\n")
    write(tmp_path / "config" / "production" / "hugo.toml", 'defaultContentLanguage = "de"\n')
    write(tmp_path / "config" / "digestmail.toml", "[site]\n")
    config = load_config(tmp_path / "config" / "digestmail.toml")
    rules = config.site.hugo_settings
    assert (rules.languages, rules.default_language) == (("de", "en"), "de")
    assert config.site.permalinks == {"post": "/:year/:slug/"}
    shown = [str(t) for t in rules.taken]
    assert (
        "site.permalinks = post = /:year/:slug/ (from config/_default/permalinks.toml: permalinks)"
        in shown
    )


def test_permalinks_page_form_of_hugo_0_112(tmp_path: Path) -> None:
    hugo = BASIC + '[permalinks.page]\npost = "/:slug/"\n[permalinks.section]\npost = "/p/"\n'
    config = load_config(make_site(tmp_path, hugo=hugo, posts={}))
    assert config.site.permalinks == {"post": "/:slug/"}


def test_renamed_category_taxonomy_is_read(tmp_path: Path) -> None:
    hugo = BASIC + '[taxonomies]\ncategory = "Kategorien"\ntag = "tags"\n'
    posts = {"content/p/a.md": "---\ntitle: A\ndate: 2024-01-01\nkategorien: [Tipp]\n---\n"}
    config = load_config(make_site(tmp_path, hugo=hugo, posts=posts))
    assert config.site.hugo_settings.category_key == "kategorien"
    from digestmail.content.reader import load_posts

    (post,) = load_posts(config.site).posts
    assert post.categories == ("Tipp",)


def test_taxonomies_without_category_is_a_warning(tmp_path: Path) -> None:
    hugo = BASIC + '[taxonomies]\nthema = "themen"\n'
    config = load_config(make_site(tmp_path, hugo=hugo, posts={}))
    (warning,) = config.site.hugo_settings.warnings
    assert warning.startswith("hugo.toml: taxonomies: has no 'category' taxonomy")


def test_missing_title_names_both_places(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"site\.title: missing required key.*title in its Hugo"):
        load_config(make_site(tmp_path, hugo='baseURL = "https://ex.org/"\n', posts={}))


def test_empty_hugo_switches_it_off(tmp_path: Path) -> None:
    ours = '[site]\nhugo = ""\ntitle = "D"\nbase_url = "https://d.org/"\n'
    config = load_config(make_site(tmp_path, hugo=BASIC, posts={}, digestmail=ours))
    assert config.site.hugo_settings.root is None
    assert str(config.site.timezone) == "UTC"


def test_hugo_in_a_subfolder(tmp_path: Path) -> None:
    write(tmp_path / "web" / "hugo.toml", BASIC)
    write(tmp_path / "config" / "digestmail.toml", '[site]\nhugo = "web"\n')
    config = load_config(tmp_path / "config" / "digestmail.toml")
    assert config.site.content_dir == tmp_path / "web" / "content"
    assert config.site.hugo_settings.root == tmp_path / "web"


def test_hugo_folder_without_config_names_the_key(tmp_path: Path) -> None:
    write(tmp_path / "config" / "digestmail.toml", '[site]\nhugo = "web"\n')
    with pytest.raises(ConfigError, match=r"site\.hugo: no Hugo config in"):
        load_config(tmp_path / "config" / "digestmail.toml")


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("hugo.toml", 'baseURL = "x\ntitle = 1\n', r"hugo\.toml: not valid TOML: .*line 1"),
        ("hugo.yaml", "title: Netz\nbaseURL: [x\n", r"hugo\.yaml: line \d: not valid YAML"),
        ("hugo.json", '{"title": "Netz",\n "x": }', r"hugo\.json: line 2: not valid JSON"),
        ("hugo.toml", 'baseURL = "ftp://x/"\n', r"hugo\.toml: baseURL: must be an absolute"),
        ("hugo.toml", 'timeZone = "Mars/Base"\n', r"hugo\.toml: timeZone: unknown time zone"),
        ("hugo.toml", "summaryLength = 0\n", r"hugo\.toml: summaryLength: must be at least 1"),
        ("hugo.toml", "uglyURLs = 'yes'\n", r"hugo\.toml: uglyURLs: must be true or false"),
    ],
)
def test_hugo_config_errors_name_file_and_line_or_key(
    tmp_path: Path, name: str, text: str, words: str
) -> None:
    write(tmp_path / name, text)
    write(tmp_path / "config" / "digestmail.toml", "[site]\n")
    with pytest.raises(ConfigError, match=words):
        load_config(tmp_path / "config" / "digestmail.toml")


def test_check_says_what_came_from_where(tmp_path: Path) -> None:
    config_path = make_site(tmp_path, hugo=BASIC + "uglyURLs = true\n", posts={}, digestmail=LIST)
    write(tmp_path / "config" / "subscribers" / "monthly.csv", "email\nanna@example.org\n")
    report = run_checks(config_path)
    assert "site.base_url = https://ex.org/netz/ (from hugo.toml: baseURL)" in report.taken
    assert "hugo.uglyURLs = true (from hugo.toml: uglyURLs)" in report.taken
    assert f"Hugo site {tmp_path}" in report.checked
