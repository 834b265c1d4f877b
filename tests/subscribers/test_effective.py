"""Issue 10: the CSV's rows, then the web sign-ups it lacks, as one stream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from digestmail.models import Recipient
from digestmail.subscribers.effective import with_signups


def test_signups_follow_the_file_each_address_once_ignoring_case(tmp_path: Path) -> None:
    csv = tmp_path / "s.csv"
    csv.write_text("email,name\nanna@example.org,Anna\nANNA@example.org,Dup\n", encoding="utf-8")
    signups = [
        Recipient(email="Anna@Example.org", name="Web Anna"),
        Recipient(email="bernd@example.org", name="Bernd"),
        Recipient(email="BERND@example.org", name="Bernd again"),
    ]
    rows = list(with_signups(csv, signups))
    recipients = [(r.email, r.name) for r in rows if isinstance(r, Recipient)]
    assert recipients == [("anna@example.org", "Anna"), ("bernd@example.org", "Bernd")]
    assert len(rows) == 3  # the file's duplicate is reported as a problem, as before


def test_signups_are_pulled_lazily(tmp_path: Path) -> None:
    csv = tmp_path / "s.csv"
    csv.write_text("email\n" + "".join(f"r{i}@example.org\n" for i in range(3)), encoding="utf-8")
    pulled: list[int] = []

    def signups() -> Iterator[Recipient]:
        for i in range(1000):
            pulled.append(i)
            yield Recipient(email=f"w{i}@example.org")

    stream = with_signups(csv, signups())
    first = [next(stream) for _ in range(4)]
    assert [r.email for r in first if isinstance(r, Recipient)][-1] == "w0@example.org"
    assert pulled == [0], "a sign-up is read from the ledger only when the send gets to it"
