"""``[[smtp.relays]]`` (issue 13): several relays, or the single ``[smtp]`` table as before.

Each relay is read by what :class:`RelayConfig` declares; a relay's key left in ``[smtp]``
beside the relays, two relays of one name, or an entry that is no table is one error naming
the key.
"""

from __future__ import annotations

import re

import pytest

from digestmail.config import RelayConfig, load_config
from digestmail.config.schema import fields_of
from digestmail.errors import ConfigError
from tests.helpers.project import BASE_CONFIG, MakeProject

TWO_RELAYS = """
[smtp]
timeout = 12
max_attempts = 3

[[smtp.relays]]
name = "primary"
host = "smtp.example.org"
port = 465
security = "tls"
username = "tipps"
password_env = "PRIMARY_PASSWORD"
connections = 6
rate_per_second = 20
weight = 3

[[smtp.relays]]
host = "backup.example.net"
connections = 2
ca_file = "config/backup-ca.pem"
verify_tls = false
"""


def test_relays_are_read_with_their_own_keys_and_the_shared_ones(
    make_project: MakeProject,
) -> None:
    config = load_config(make_project(extra_config=TWO_RELAYS))
    primary, backup = config.smtp.relay_list()
    assert (primary.name, primary.host, primary.port, primary.security) == (
        "primary",
        "smtp.example.org",
        465,
        "tls",
    )
    assert (primary.connections, primary.rate_per_second, primary.weight, primary.share) == (
        6,
        20.0,
        3,
        3,
    )
    assert (primary.password_env, primary.verify_tls, primary.ca_file) == (
        "PRIMARY_PASSWORD",
        True,
        None,
    )
    assert backup.name == "backup.example.net:587", "the default name is host:port"
    assert backup.share == 2, "the default weight is the relay's connections"
    assert backup.verify_tls is False
    assert backup.ca_file == config.project_dir / "config" / "backup-ca.pem"
    assert (primary.timeout, backup.timeout, config.smtp.max_attempts) == (12, 12, 3)
    assert (primary.key, backup.key) == ("smtp.relays[1]", "smtp.relays[2]")


def test_the_single_smtp_table_is_one_relay(make_project: MakeProject) -> None:
    config = load_config(
        make_project(extra_config='[smtp]\nhost = "mail.example.org"\nconnections = 3\n')
    )
    (relay,) = config.smtp.relay_list()
    assert (relay.name, relay.host, relay.port, relay.connections, relay.share) == (
        "mail.example.org:587",
        "mail.example.org",
        587,
        3,
        3,
    )
    assert relay.key == "smtp" and config.smtp.relays == ()


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        pytest.param(
            '[smtp]\nhost = "a.example.org"\n[[smtp.relays]]\nhost = "b.example.org"\n',
            "smtp.host",
            "in each [[smtp.relays]] entry",
            id="host-beside-relays",
        ),
        pytest.param(
            '[smtp]\nverify_tls = false\n[[smtp.relays]]\nhost = "b.example.org"\n',
            "smtp.verify_tls",
            "which relay",
            id="tls-rule-beside-relays",
        ),
        pytest.param(
            '[smtp]\nrate_per_second = 5\n[[smtp.relays]]\nhost = "b.example.org"\n',
            "smtp.rate_per_second",
            "which relay",
            id="rate-beside-relays",
        ),
        pytest.param(
            '[[smtp.relays]]\nhost = "a.example.org"\n[[smtp.relays]]\nhost = "a.example.org"\n',
            "smtp.relays[2].name",
            "'a.example.org:587' is the name of smtp.relays[1] already",
            id="same-default-name",
        ),
        pytest.param(
            '[[smtp.relays]]\nname = "x"\nhost = "a"\n[[smtp.relays]]\nname = "x"\nhost = "b"\n',
            "smtp.relays[2].name",
            "name of its own",
            id="same-name",
        ),
        pytest.param(
            '[smtp.relays]\nhost = "a.example.org"\n',
            "smtp.relays",
            "one or more [[smtp.relays]] tables",
            id="a-table-not-an-array",
        ),
        pytest.param(
            "[smtp]\nrelays = []\n",
            "smtp.relays",
            "one or more [[smtp.relays]] tables",
            id="empty",
        ),
        pytest.param(
            '[[smtp.relays]]\nhost = "a"\nconections = 2\n',
            "smtp.relays[1].conections",
            "unknown key",
            id="typo",
        ),
        pytest.param(
            '[[smtp.relays]]\nhost = "a"\nconnections = 0\n',
            "smtp.relays[1].connections",
            "at least 1 and at most 256",
            id="connections-range",
        ),
        pytest.param(
            '[[smtp.relays]]\nhost = "a"\nweight = -1\n',
            "smtp.relays[1].weight",
            "at least 0 and at most 10000",
            id="weight-range",
        ),
        pytest.param(
            '[[smtp.relays]]\nhost = "a"\nsecurity = "ssl"\n',
            "smtp.relays[1].security",
            "one of: tls, starttls, none",
            id="security",
        ),
        pytest.param(
            '[[smtp.relays]]\nhost = "a"\nname = "two\\nlines"\n',
            "smtp.relays[1].name",
            "printable",
            id="name-with-newline",
        ),
        pytest.param(
            '[[smtp.relays]]\nhost = "a"\ntimeout = 5\n',
            "smtp.relays[1].timeout",
            "unknown key",
            id="shared-key-in-a-relay",
        ),
    ],
)
def test_a_bad_relay_config_names_the_key(
    make_project: MakeProject, extra: str, key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(make_project(config=BASE_CONFIG + extra))
    message = str(info.value)
    assert f": {key}: " in message, message
    assert words in message, message


def test_every_relay_number_has_a_range_and_its_default_lies_inside() -> None:
    for field in fields_of(RelayConfig):
        if field.hint in (int, float):
            assert field.setting.bounds is not None, field.key
            assert field.default in field.setting.bounds, field.key


def test_the_readme_example_shares_the_connections_as_it_says(make_project: MakeProject) -> None:
    """README "Several relays": the provider gets 6 connections, the backup 2 (3 : 1)."""
    from digestmail.deliver.relays import relays_for
    from digestmail.deliver.send import make_transport
    from tests.helpers.paths import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Several relays") :]
    example = re.search(r"^```toml\n(.*?)^```", section, re.S | re.M)
    assert example is not None
    config = load_config(make_project(extra_config=example.group(1)))
    relays = relays_for(make_transport(config), config.smtp)
    assert {r.name: relays.active(r, 0.0) for r in relays.members} == {
        "provider": 6,
        "backup": 2,
    }
