"""A throw-away Postfix on 127.0.0.1 that bounces mail to unknown local users into a Maildir.

Its own ``config_directory``, ``queue_directory`` and ``data_directory`` under a temporary
directory (world-traversable: Postfix's daemons run as ``postfix`` and the virtual delivery
agent as ``nobody``, and pytest's own tmp directory is 0700), its own smtpd port, no chroot,
no aliases, and ``local_recipient_maps`` empty so that smtpd accepts any ``@localhost``
recipient and the local delivery agent, finding no such user, makes a real DSN. That DSN goes
to the envelope sender (the VERP return path ``bounces+TOKEN@<bounce domain>``), a virtual
mailbox domain whose every address is delivered to one Maildir the test reads.

Needs root (``postfix start`` is a root command) and the Debian ``postfix`` package; the system
instance (``/etc/postfix``) is neither read nor touched, apart from ``meta_directory`` (the
package's file list, read by ``postfix check``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

POSTFIX = Path("/usr/sbin/postfix")
POSTCONF = Path("/usr/sbin/postconf")

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def why_not() -> str | None:
    """Why this machine cannot run the throw-away instance, or None when it can."""
    if not POSTFIX.exists():
        return "Postfix is not installed (apt-get install postfix)"
    if os.geteuid() != 0:
        return "starting a Postfix instance needs root"
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        return "no postfix user (the postfix package is not set up)"
    return None


@dataclass
class Postfix:
    root: Path
    config_dir: Path
    port: int
    maildir: Path
    """Where every DSN to the bounce domain lands (a Maildir: new/, cur/, tmp/)."""

    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def stop(self) -> None:
        subprocess.run(
            [str(POSTFIX), "-c", str(self.config_dir), "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        # master.pid stays behind; wait for the process itself (a zombie counts as gone: the
        # master is daemonised, and this container's init may never reap it).
        deadline = time.monotonic() + 15
        while _master_alive(self.root) and time.monotonic() < deadline:
            time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)


def _master_alive(root: Path) -> bool:
    try:
        pid = int((root / "queue" / "pid" / "master.pid").read_text().strip())
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def start_postfix(bounce_domain: str) -> Postfix:
    """Start the instance; mail to ``anything@bounce_domain`` is delivered to ``maildir``."""
    root = Path(tempfile.mkdtemp(prefix="dm-postfix-"))
    root.chmod(0o755)
    config_dir, queue, data, vmail = (root / d for d in ("etc", "queue", "data", "vmail"))
    for d in (config_dir, queue, data, vmail):
        d.mkdir()
    nobody = pwd.getpwnam("nobody")
    postfix = pwd.getpwnam("postfix")
    os.chown(vmail, nobody.pw_uid, nobody.pw_gid)
    os.chown(data, postfix.pw_uid, postfix.pw_gid)
    port = free_port()
    (config_dir / "master.cf").write_text(MASTER_CF.format(port=port), encoding="utf-8")
    (config_dir / "main.cf").write_text(
        f"""\
compatibility_level = 3.6
config_directory = {config_dir}
queue_directory = {queue}
data_directory = {data}
meta_directory = /etc/postfix
maillog_file = {root / "maillog"}
maillog_file_prefixes = {root}
myhostname = localhost
mydomain = localhost
myorigin = localhost
mydestination = localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = $myhostname ESMTP digestmail-test
alias_maps =
alias_database =
local_recipient_maps =
biff = no
virtual_mailbox_domains = {bounce_domain}
virtual_mailbox_base = {vmail}
virtual_mailbox_maps = static:bounces/
virtual_uid_maps = static:{nobody.pw_uid}
virtual_gid_maps = static:{nobody.pw_gid}
virtual_minimum_uid = 1
relayhost =
default_transport = error:no mail leaves this test instance
smtputf8_enable = no
""",
        encoding="utf-8",
    )
    started = subprocess.run(
        [str(POSTFIX), "-c", str(config_dir), "start"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    server = Postfix(root, config_dir, port, vmail / "bounces")
    if started.returncode != 0:
        log = server.log()
        server.stop()
        raise RuntimeError(f"postfix start failed: {started.stderr}{started.stdout}\n{log}")
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            if time.monotonic() > deadline:
                log = server.log()
                server.stop()
                raise RuntimeError(f"postfix smtpd never listened on {port}\n{log}") from None
            time.sleep(0.1)
