"""The config contract: defaults, and one clear error per problem naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from digestmail.config import load_config
from digestmail.errors import ConfigError
from tests.helpers.project import BASE_CONFIG, MakeProject


def test_defaults_fill_everything_not_required(make_project: MakeProject) -> None:
    cfg = load_config(make_project())
    project = cfg.path.parent.parent
    assert cfg.project_dir == project
    assert cfg.site.base_url == "https://example.org/"
    assert str(cfg.site.timezone) == "Europe/Berlin"
    assert cfg.site.content_dir == project / "content"
    assert cfg.state.path == project / "state" / "digestmail.sqlite"
    assert cfg.transport.kind == "maildir"
    assert cfg.transport.maildir == project / "outbox"
    assert (cfg.smtp.host, cfg.smtp.port, cfg.smtp.security) == ("localhost", 587, "starttls")
    assert cfg.smtp.verify_tls is True
    monthly = cfg.get_list("monthly")
    assert monthly.cadence == "month"
    assert monthly.schedule == "0 8 1 * *"
    assert monthly.categories == ("veranstaltungstipp",)
    assert monthly.subscribers == project / "config" / "subscribers" / "monthly.csv"


def test_base_url_gains_trailing_slash(make_project: MakeProject) -> None:
    text = BASE_CONFIG.replace('"https://example.org/"', '"https://example.org/site"')
    assert load_config(make_project(config=text)).site.base_url == "https://example.org/site/"


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (("[site]", "[site]\ncolour = 'blue'"), "site.colour", "unknown key"),
        (('title = "Testnetz Beteiligung"\n', ""), "site.title", "missing required key"),
        (('from = "Tipps <tipps@example.org>"\n', ""), "lists.monthly.from", "missing required"),
        (('"Europe/Berlin"', '"Europe/Atlantis"'), "site.timezone", "unknown time zone"),
        (('name = "Veranstaltungstipps"', "name = 3"), "lists.monthly.name", "must be a string"),
        (
            ('categories = ["veranstaltungstipp"]', 'categories = "veranstaltungstipp"'),
            "lists.monthly.categories",
            "must be a list of strings",
        ),
        (
            ('name = "Veranstaltungstipps"', 'name = "V"\nschedule = "0 8 32 * *"'),
            "lists.monthly.schedule",
            "not a valid cron expression",
        ),
        (
            ('name = "Veranstaltungstipps"', 'name = "V"\nschedule = "0 0 8 1 * *"'),
            "lists.monthly.schedule",
            "five fields",
        ),
        (
            ('name = "Veranstaltungstipps"', 'name = "V"\ncatch_up = 0'),
            "lists.monthly.catch_up",
            "at least 1",
        ),
        (
            ('name = "Veranstaltungstipps"', 'name = "V"\ncadence = "yearly"'),
            "lists.monthly.cadence",
            "is not one of",
        ),
        (("[site]", "[smtp]\nsecurity = 'ssl'\n[site]"), "smtp.security", "is not one of"),
        (("[site]", "[smtp]\nport = '25'\n[site]"), "smtp.port", "must be an integer"),
        (
            ("[site]", "[smtp]\ngive_up_after_days = 0\n[site]"),
            "smtp.give_up_after_days",
            "more than 0",
        ),
        (
            ("[site]", "[smtp]\ngive_up_after_days = 999999\n[site]"),
            "smtp.give_up_after_days",
            "at most 36500",
        ),
        (
            ("[site]", "[smtp]\ngive_up_after_days = nan\n[site]"),
            "smtp.give_up_after_days",
            "more than 0",
        ),
        (("[site]", "[smtp]\ntimeout = nan\n[site]"), "smtp.timeout", "not a number"),
        (
            ("[site]", "[smtp]\ngive_up_after_days = inf\n[site]"),
            "smtp.give_up_after_days",
            "at most 36500",
        ),
        (("[site]", "[tracking]\non = true\n[site]"), "tracking", "unknown section"),
        (('language = "de"', 'language = "xx_YY"'), "site.language", "unknown language"),
    ],
)
def test_each_problem_names_file_and_key(
    make_project: MakeProject, change: tuple[str, str], key: str, words: str
) -> None:
    text = BASE_CONFIG.replace(*change, 1)
    assert text != BASE_CONFIG
    path = make_project(config=text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    assert key in message
    assert words in message


def test_missing_file_and_bad_toml_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="not found"):
        load_config(missing)
    broken = tmp_path / "broken.toml"
    broken.write_text("[site\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML"):
        load_config(broken)


def test_config_found_through_environment(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = make_project()
    monkeypatch.setenv("DIGESTMAIL_CONFIG", str(path))
    monkeypatch.chdir(tmp_path / "content")
    assert load_config().path == path


def test_password_comes_only_from_the_environment(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = load_config(make_project(extra_config="[smtp]\npassword_env = 'RELAY_PW'\n"))
    monkeypatch.delenv("RELAY_PW", raising=False)
    assert cfg.smtp.password() == ""
    monkeypatch.setenv("RELAY_PW", "s3cret")
    assert cfg.smtp.password() == "s3cret"


def test_language_becomes_a_bcp47_tag(make_project: MakeProject) -> None:
    text = BASE_CONFIG.replace('language = "de"', 'language = "de_AT"')
    assert load_config(make_project(config=text)).site.language == "de-AT"


@pytest.mark.parametrize(
    "tag",
    ["en", "de", "de-AT", "de_AT", "DE", "de-at", "zh-TW", "no", "gsw", "xx", "de-XX", " en "],
)
def test_a_language_is_read_as_babel_reads_it_without_importing_babel(tag: str) -> None:
    """The shortcut for tags already in babel's case must say what ``Locale.parse`` says."""
    from babel import Locale, UnknownLocaleError

    from digestmail.config import values
    from digestmail.config.schema import Invalid

    try:
        expected = str(Locale.parse(tag.strip().replace("-", "_"))).replace("_", "-")
    except (UnknownLocaleError, ValueError):
        with pytest.raises(Invalid, match="unknown language"):
            values.language(tag)
    else:
        assert values.language(tag) == expected


def test_weekly_lists_default_to_a_weekly_schedule(make_project: MakeProject) -> None:
    text = BASE_CONFIG.replace('name = "Veranstaltungstipps"', 'name = "V"\ncadence = "week"')
    weekly = load_config(make_project(config=text)).get_list("monthly")
    assert weekly.schedule == "0 8 * * 1", "every Monday, not once a month"
    text = text.replace('cadence = "week"', 'cadence = "week"\nschedule = "0 9 * * 5"')
    assert load_config(make_project(config=text)).get_list("monthly").schedule == "0 9 * * 5"


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config"):
        load_config(tmp_path)
