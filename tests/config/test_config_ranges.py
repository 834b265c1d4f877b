"""Issue 14, item 5: every number in the config has a range, checked when the config is loaded.

``connections = 100000`` once opened one SMTP session per recipient and ``port = 70000`` passed
``check`` only to crash ``send`` with an OverflowError. Both commands load the config through
the same code, so both refuse such a value with exit 2 and a message naming key and range.
"""

from __future__ import annotations

import dataclasses

import pytest

from digestmail.config import ListConfig, SmtpConfig, load_config
from digestmail.config.schema import Bounds, fields_of
from digestmail.errors import ConfigError
from digestmail.selection.late import LOOKBACK_PERIODS
from tests.helpers.cli import Cli
from tests.helpers.project import BASE_CONFIG, MakeProject

# key -> (the range as the message words it, values outside it)
SMTP_RANGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "port": ("at least 1 and at most 65535", ("0", "70000", "-25", "true")),
    "connections": ("at least 1 and at most 256", ("0", "100000", "false")),
    "rate_per_second": ("at least 0 and at most 10000", ("-1", "1e9", "nan", "inf")),
    "timeout": ("at least 1 and at most 3600 seconds", ("0", "0.5", "86400", "nan", "-inf")),
    "max_attempts": ("at least 1 and at most 100", ("0", "1000", "true")),
    "retry_max_delay": ("at least 0 and at most 3600 seconds", ("-0.5", "1e6", "nan")),
    "give_up_after_days": ("more than 0 and at most 36500 days", ("0", "-1", "1e9", "nan")),
}
LIST_RANGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "catch_up": ("at least 1 and at most 24", ("0", "25", "-1", "true")),
}
CASES = [
    pytest.param(f"[smtp]\n{key} = {value}\n", f"smtp.{key}", words, value, id=f"{key}={value}")
    for key, (words, values) in SMTP_RANGES.items()
    for value in values
] + [
    pytest.param(
        f'[lists.monthly]\nfrom = "a@example.org"\nsubscribers = "s.csv"\ncategories = ["x"]\n'
        f"{key} = {value}\n",
        f"lists.monthly.{key}",
        words,
        value,
        id=f"{key}={value}",
    )
    for key, (words, values) in LIST_RANGES.items()
    for value in values
]


def _config_with(table: str) -> str:
    """The base config with ``table`` in place of (or in addition to) its own table."""
    if table.startswith("[lists.monthly]"):
        head = BASE_CONFIG.split("[lists.monthly]")[0]
        return head + table
    return table + "\n" + BASE_CONFIG


def _expect(message: str, key: str, words: str, value: str) -> None:
    assert key in message
    if value in ("true", "false"):  # a bool is not a number here, whatever Python thinks
        assert "must be an integer, not bool" in message
    elif value == "nan":
        assert "not a number" in message
        assert words in message
    else:
        assert words in message, message


def test_every_numeric_key_has_a_range() -> None:
    """A new number without a range would slip past this whole file: declare one."""
    for cls in (SmtpConfig, ListConfig):
        for field in fields_of(cls):
            if field.hint in (int, float):
                assert isinstance(field.setting.bounds, Bounds), field.key
    numeric = {f.key for f in fields_of(SmtpConfig) if f.hint in (int, float)}
    assert numeric == set(SMTP_RANGES)
    assert {f.key for f in fields_of(ListConfig) if f.hint in (int, float)} == set(LIST_RANGES)


def test_catch_up_range_matches_how_far_run_due_looks() -> None:
    bounds = next(f.setting.bounds for f in fields_of(ListConfig) if f.key == "catch_up")
    assert bounds is not None
    assert bounds.high == LOOKBACK_PERIODS


def test_defaults_lie_inside_their_ranges() -> None:
    for cls in (SmtpConfig, ListConfig):
        for field in fields_of(cls):
            if field.setting.bounds is not None:
                assert field.default in field.setting.bounds, field.key


@pytest.mark.parametrize(("table", "key", "words", "value"), CASES)
def test_load_refuses_out_of_range(
    make_project: MakeProject, table: str, key: str, words: str, value: str
) -> None:
    path = make_project(config=_config_with(table))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    _expect(str(info.value), key, words, value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(("table", "key", "words", "value"), CASES)
def test_check_and_send_agree(
    make_project: MakeProject, cli: Cli, table: str, key: str, words: str, value: str
) -> None:
    path = make_project(config=_config_with(table))
    checked = cli.invoke("--config", str(path), "check")
    assert checked.exit_code == 2, checked.output
    _expect(checked.output, key, words, value)
    sent = cli.invoke("--config", str(path), "send", "--list", "monthly", "--yes")
    assert sent.exit_code == 2, sent.output
    _expect(sent.output, key, words, value)
    assert "Traceback" not in checked.output + sent.output


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("port", 1),
        ("port", 65535),
        ("connections", 256),
        ("rate_per_second", 0),
        ("timeout", 3600),
        ("timeout", 1.5),
        ("retry_max_delay", 0),
        ("give_up_after_days", 36500),
        ("max_attempts", 100),
    ],
)
def test_the_ends_of_each_range_are_allowed(
    make_project: MakeProject, key: str, value: float
) -> None:
    config = load_config(make_project(config=f"[smtp]\n{key} = {value}\n\n" + BASE_CONFIG))
    assert getattr(config.smtp, key) == value
    assert type(getattr(config.smtp, key)) is type(getattr(SmtpConfig(), key))


def test_literal_keys_name_their_allowed_values(make_project: MakeProject) -> None:
    path = make_project(config="[transport]\nkind = 'sendmail'\n\n" + BASE_CONFIG)
    with pytest.raises(
        ConfigError, match=r"transport\.kind: 'sendmail' is not one of: maildir, smtp"
    ):
        load_config(path)
    path = make_project(config="[transport]\nkind = 1\n\n" + BASE_CONFIG)
    with pytest.raises(ConfigError, match=r"transport\.kind: 1 is not one of: maildir, smtp"):
        load_config(path)


def test_allowed_keys_come_from_the_dataclass(make_project: MakeProject) -> None:
    path = make_project(config="[smtp]\nconections = 4\n\n" + BASE_CONFIG)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    for field in dataclasses.fields(SmtpConfig):
        assert field.name in message
    assert "smtp.conections: unknown key" in message
