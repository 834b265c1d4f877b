"""DKIM keys: made (``dkim keygen``), read from a private file or the environment, published.

A key's text is never put in an error or a log line; errors name the file or the variable.
"""

from __future__ import annotations

import base64
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from digestmail.config import Config, DkimConfig
from digestmail.errors import ConfigError
from digestmail.message.dkim import DkimSigner, PrivateKey, SigningKey

RSA_BITS = 2048


@dataclass(frozen=True, slots=True)
class KeySource:
    """Where one algorithm's key comes from, and the config key to name when it is wrong."""

    algorithm: str
    path: Path | None
    env: str
    config_key: str


def key_sources(dkim: DkimConfig) -> list[KeySource]:
    out = []
    for algorithm in dkim.algorithms:
        if algorithm == "rsa-sha256":
            out.append(KeySource(algorithm, dkim.key_file, dkim.key_env, "dkim.key_file"))
            continue
        path = dkim.ed25519_key_file
        if path is None and dkim.key_file is not None:
            path = dkim.key_file.with_name(dkim.key_file.stem + ".ed25519.key")
        out.append(KeySource(algorithm, path, dkim.ed25519_key_env, "dkim.ed25519_key_file"))
    return out


def private_problem(path: Path) -> str | None:
    """Why ``path`` is not a private key file (readable by group or others), else None."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return f"{path} is readable by others (mode {stat.S_IMODE(mode):o}); run chmod 600 {path}"
    return None


def read_key(source: KeySource, config: Config) -> PrivateKey:
    """The private key, checked: a private file (or the variable), PEM, of the right kind."""
    if source.path is not None:
        where = str(source.path)
        try:
            problem = private_problem(source.path)
            if problem:
                raise ConfigError(problem, path=config.path, key=source.config_key)
            pem = source.path.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the DKIM key {where}: {exc.strerror or exc}; make one with "
                "digestmail dkim keygen",
                path=config.path,
                key=source.config_key,
            ) from exc
    else:
        where = f"${source.env}"
        pem = os.environ.get(source.env, "").encode()
        if not pem:
            raise ConfigError(
                f"no key: set key_file, or put the PEM key in ${source.env}",
                path=config.path,
                key="dkim.key_env",
            )
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"{where} is not an unencrypted PEM private key",
            path=config.path,
            key=source.config_key,
        ) from exc
    want = rsa.RSAPrivateKey if source.algorithm == "rsa-sha256" else ed25519.Ed25519PrivateKey
    if not isinstance(key, want):
        raise ConfigError(
            f"{where} is not a {source.algorithm.split('-')[0]} key",
            path=config.path,
            key=source.config_key,
        )
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size < 1024:
        raise ConfigError(
            f"{where}: RSA keys under 1024 bits are refused by verifiers (RFC 8301)",
            path=config.path,
            key=source.config_key,
        )
    return key


def signer_for(config: Config) -> DkimSigner | None:
    """The send's signer, or None without ``[dkim]``."""
    dkim = config.dkim
    if dkim is None:
        return None
    keys = [
        SigningKey(s.algorithm, dkim.selector_for(s.algorithm), read_key(s, config))
        for s in key_sources(dkim)
    ]
    return DkimSigner(dkim.domain, keys)


def aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment (DMARC): the From domain is ``domain`` or below it."""
    from_domain = from_domain.lower().rstrip(".")
    return from_domain == domain or from_domain.endswith("." + domain)


def check_alignment(config: Config, list_key: str, from_domain: str) -> None:
    dkim = config.dkim
    if dkim is not None and not aligned(dkim.domain, from_domain):
        raise ConfigError(
            f"dkim.domain {dkim.domain!r} does not align with the From domain {from_domain!r} "
            f"of list {list_key!r}: set dkim.domain to {from_domain!r} (or a parent domain), "
            "or mailbox providers will not trust the signature",
            path=config.path,
            key="dkim.domain",
        )


def public_value(key: PrivateKey) -> str:
    """The ``p=`` of the DNS record: SPKI DER for RSA, the raw 32 bytes for Ed25519."""
    if isinstance(key, rsa.RSAPrivateKey):
        der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    else:
        der = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    return base64.b64encode(der).decode("ascii")


def dns_record(key: PrivateKey) -> str:
    kind = "rsa" if isinstance(key, rsa.RSAPrivateKey) else "ed25519"
    return f"v=DKIM1; k={kind}; p={public_value(key)}"


def record_tags(record: str) -> dict[str, str]:
    """A DKIM TXT record's tags; quotes and whitespace from a zone file are removed."""
    text = "".join(part.strip().strip('"') for part in record.split('" "'))
    tags = {}
    for item in text.split(";"):
        name, sep, value = item.partition("=")
        if sep:
            tags[name.strip()] = "".join(value.split())
    return tags


def generate(algorithm: str) -> PrivateKey:
    if algorithm == "rsa-sha256":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    return ed25519.Ed25519PrivateKey.generate()


def write_private(key: PrivateKey, path: Path) -> None:
    """PEM (PKCS#8, unencrypted), created with mode 0600, never overwriting a key."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
