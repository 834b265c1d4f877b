"""``digestmail dkim keygen``: a DKIM key pair and the DNS record to publish."""

from __future__ import annotations

from pathlib import Path

import click

from digestmail.cli.common import err_console, handle_errors


@click.group()
def dkim() -> None:
    """DKIM keys for signing the digest (the [dkim] table)."""


@dkim.command()
@click.option("--selector", required=True, help="The selector, e.g. digest2026.")
@click.option("--ed25519", "ed25519", is_flag=True, help="Also an Ed25519 key (own selector).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("config/dkim"),
    show_default=True,
    help="Folder for the key files (created; existing keys are never overwritten).",
)
@click.option("--domain", default="", help="The d= domain, for the record's name in the output.")
@handle_errors
def keygen(selector: str, ed25519: bool, out_dir: Path, domain: str) -> None:
    """Write a 2048-bit RSA key (mode 0600) and print the DNS TXT record to publish."""
    from digestmail.message.dkim_keys import dns_record, generate, write_private

    wanted = [("rsa-sha256", selector, f"{selector}.key")]
    if ed25519:
        wanted.append(("ed25519-sha256", f"{selector}-ed25519", f"{selector}.ed25519.key"))
    for _, _, filename in wanted:
        if (out_dir / filename).exists():
            raise click.UsageError(f"{out_dir / filename} exists; choose another selector")
    zone = f".{domain}." if domain else ""
    for algorithm, name, filename in wanted:
        key = generate(algorithm)
        path = out_dir / filename
        write_private(key, path)
        err_console.print(f"wrote {algorithm} key {path} (mode 600)")
        click.echo(f'{name}._domainkey{zone} IN TXT "{dns_record(key)}"')
    err_console.print(
        "Publish the record(s) above in your domain's DNS, then set [dkim] selector and "
        "key_file, and run: digestmail check --dns-record '<record>'"
    )
