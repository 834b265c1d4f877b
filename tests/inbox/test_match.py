"""The matcher's lookups: VERP tokens per issue (newest first, only as far as needed) and
addresses, on a ledger with several issues."""

from __future__ import annotations

import pytest

from digestmail.app.inbox.match import Matcher
from digestmail.config import Config, load_config
from digestmail.ledger.store import Ledger
from digestmail.message.verp import verp_address, verp_token
from tests.helpers.inbox import BOUNCE_ADDRESS, INBOX_CONFIG, SECRET, csv_of, people, record_send
from tests.helpers.project import MakeProject

READERS = people(4)
PERIODS = ("2017-09", "2017-10", "2017-11")


@pytest.fixture
def project(make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("DIGESTMAIL_SECRET", SECRET)
    config = load_config(make_project(subscribers=csv_of(READERS), extra_config=INBOX_CONFIG))
    for period in PERIODS:
        record_send(config, READERS, period)
    return config


def matcher(ledger: Ledger) -> Matcher:
    return Matcher(
        ledger, bounce_address=BOUNCE_ADDRESS, secret=SECRET, members=lambda _: frozenset()
    )


def verp(issue_id: str, email: str) -> str:
    token = verp_token(SECRET, list_key="monthly", issue_id=issue_id, email=email)
    return verp_address(BOUNCE_ADDRESS, token)


def test_a_token_of_the_newest_issue_computes_only_that_issue(project: Config) -> None:
    with Ledger.open(project.state.path) as ledger:
        m = matcher(ledger)
        (found,) = m.by_verp([verp("monthly-2017-11", READERS[2])])
        assert (found.issue_id, found.email, found.matched_by) == (
            "monthly-2017-11",
            READERS[2],
            "verp",
        )
        assert list(m._tokens) == ["monthly-2017-11"]


def test_a_token_of_an_older_issue_is_found_and_the_tables_are_kept(project: Config) -> None:
    with Ledger.open(project.state.path) as ledger:
        m = matcher(ledger)
        (found,) = m.by_verp([verp("monthly-2017-09", READERS[0])])
        assert (found.issue_id, found.email) == ("monthly-2017-09", READERS[0])
        assert set(m._tokens) == {f"monthly-{p}" for p in PERIODS}
        (again,) = m.by_verp([verp("monthly-2017-10", READERS[1])])
        assert (again.issue_id, again.email) == ("monthly-2017-10", READERS[1])


def test_a_token_no_delivery_has_matches_nothing(project: Config) -> None:
    with Ledger.open(project.state.path) as ledger:
        m = matcher(ledger)
        assert m.by_verp([verp("monthly-2017-11", "stranger@example.net")]) == []
        assert m.by_verp(["bounces+abcdefghijklmnop@example.org"]) == []
        assert m.by_verp([verp("monthly-2017-11", READERS[0]).upper()]) != []  # case-free


def test_an_address_is_matched_to_its_newest_issue_whatever_its_case(project: Config) -> None:
    with Ledger.open(project.state.path) as ledger:
        (found,) = matcher(ledger).by_recipient([READERS[3].upper()], ["monthly"])
        assert (found.issue_id, found.email, found.matched_by) == (
            "monthly-2017-11",
            READERS[3],
            "recipient",
        )
        assert matcher(ledger).by_recipient(["nobody@example.net"], ["monthly"]) == []
