"""``dkim keygen`` writes private keys and prints records; ``check`` compares key and record."""

from __future__ import annotations

import stat
from pathlib import Path

from click.testing import CliRunner

from digestmail.app.check import run_checks
from digestmail.cli import main
from digestmail.message.dkim_check import read_records
from digestmail.message.dkim_keys import dns_record, generate
from tests.helpers.project import MakeProject

DKIM_TABLE = """
[dkim]
domain = "{domain}"
selector = "sel"
key_file = "config/dkim/sel.key"
algorithms = ["rsa-sha256", "ed25519-sha256"]
"""


def keygen(out: Path) -> list[str]:
    result = CliRunner().invoke(
        main, ["dkim", "keygen", "--selector", "sel", "--ed25519", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return [line for line in result.stdout.splitlines() if "v=DKIM1" in line]


def test_keygen_writes_private_pem_keys_and_prints_records(tmp_path: Path) -> None:
    lines = keygen(tmp_path / "dkim")
    assert lines[0].startswith('sel._domainkey IN TXT "v=DKIM1; k=rsa; p=')
    assert lines[1].startswith('sel-ed25519._domainkey IN TXT "v=DKIM1; k=ed25519; p=')
    for name in ("sel.key", "sel.ed25519.key"):
        path = tmp_path / "dkim" / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    again = CliRunner().invoke(
        main, ["dkim", "keygen", "--selector", "sel", "--out", str(tmp_path / "dkim")]
    )
    assert again.exit_code == 2 and "exists" in again.output


def project_with_keys(make_project: MakeProject, domain: str = "example.org") -> tuple[Path, Path]:
    cfg = make_project(extra_config=DKIM_TABLE.format(domain=domain))
    zone = cfg.parent / "zone.txt"
    zone.write_text("\n".join(keygen(cfg.parent / "dkim")) + "\n")
    return cfg, zone


def dkim_problems(cfg: Path, records: list[str]) -> list[str]:
    return [p.message for p in run_checks(cfg, dns_records=records).problems if p.area == "dkim"]


def test_check_accepts_the_published_records_from_a_file(make_project: MakeProject) -> None:
    cfg, zone = project_with_keys(make_project)
    records = read_records([str(zone)])
    assert len(records) == 2
    assert dkim_problems(cfg, records) == []
    report = run_checks(cfg, dns_records=records)
    assert any("key matches the record for sel._domainkey" in c for c in report.checked)


def test_check_refuses_a_record_of_another_key(make_project: MakeProject) -> None:
    cfg, zone = project_with_keys(make_project)
    records = read_records([str(zone)])
    wrong = [dns_record(generate("rsa-sha256")), records[1]]
    (problem,) = dkim_problems(cfg, wrong)
    assert "rsa-sha256 key does not match" in problem
    assert run_checks(cfg, dns_records=wrong).exit_code == 2


def test_check_refuses_an_unaligned_domain(make_project: MakeProject) -> None:
    cfg, _ = project_with_keys(make_project, domain="mailer.example.net")
    (problem,) = dkim_problems(cfg, [])
    assert "does not align with the From domain 'example.org'" in problem


def test_check_refuses_a_key_others_can_read(make_project: MakeProject) -> None:
    cfg, zone = project_with_keys(make_project)
    (cfg.parent / "dkim" / "sel.key").chmod(0o640)
    (problem,) = dkim_problems(cfg, read_records([str(zone)]))
    assert "chmod 600" in problem and "dkim.key_file" in problem


def test_check_cli_takes_a_record_on_the_command_line(make_project: MakeProject) -> None:
    cfg, zone = project_with_keys(make_project)
    rsa_line = zone.read_text().splitlines()[0]
    record = rsa_line.split('"')[1]
    result = CliRunner().invoke(main, ["--config", str(cfg), "check", "--dns-record", record])
    assert "no k=ed25519 record given" in result.output
    assert result.exit_code == 2
