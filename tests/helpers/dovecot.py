"""A throw-away Dovecot IMAP server on 127.0.0.1 for the inbox tests.

Started from a config written into the test's tmp directory: a Maildir under it, one user in
a passwd-file, a certificate made by ``trustme`` for ``localhost``/127.0.0.1, an implicit-TLS
listener and a plain one that offers STARTTLS. ``dovecot -F`` runs in the foreground as a
subprocess, so stopping the test stops the server.
"""

from __future__ import annotations

import getpass
import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import trustme

DOVECOT = Path("/usr/sbin/dovecot")
USER = "bounces"
PASSWORD = "dovecot-test-pw"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Dovecot:
    root: Path
    imap_port: int
    imaps_port: int
    ca_file: Path
    maildir: Path
    process: subprocess.Popen[bytes]
    base_dir: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.base_dir, ignore_errors=True)


def start_dovecot(root: Path, *, capabilities: str = "") -> Dovecot:
    """``capabilities``: the CAPABILITY list after login instead of Dovecot's own (a server
    without MOVE, say); Dovecot still understands the commands it no longer announces."""
    root.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(str(root / "server.pem"))
    ca.cert_pem.write_to_path(str(root / "ca.pem"))
    cert.private_key_pem.write_to_path(str(root / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(root / "cert.pem"))
    user = getpass.getuser()
    group = grp.getgrgid(os.getgid()).gr_name
    login_user = internal_user = user
    if os.getuid() == 0:  # Dovecot refuses to run its login processes as root
        login_user, internal_user, group = "dovenull", "dovecot", "dovecot"
    uid, gid = os.getuid(), os.getgid()
    imap_port, imaps_port = free_port(), free_port()
    # Login and auth processes (dovenull, dovecot when root) must reach the sockets in
    # base_dir and the passwd-file, which the 0700 tmp folder of the test would hide.
    base_dir = Path(tempfile.mkdtemp(prefix="dm-dovecot-"))
    base_dir.chmod(0o755)
    if uid == 0:  # nor does it deliver mail as root: the mail belongs to its own user
        uid, gid = pwd.getpwnam(internal_user).pw_uid, grp.getgrnam(group).gr_gid
    home = base_dir / "home"
    maildir = home / "mail"
    home.mkdir()
    os.chown(home, uid, gid)
    passwd = base_dir / "passwd"
    passwd.write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{home}::\n", encoding="utf-8")
    passwd.chmod(0o644)
    (root / "dovecot.conf").write_text(
        f"""
protocols = imap
listen = 127.0.0.1
base_dir = {base_dir}
state_dir = {root}/state
instance_name = dm-test-{imap_port}
default_internal_user = {internal_user}
default_internal_group = {group}
default_login_user = {login_user}
log_path = {root}/dovecot.log
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{maildir}
{f"imap_capability = {capabilities}" if capabilities else ""}
first_valid_uid = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {passwd}
}}
userdb {{
  driver = passwd-file
  args = {passwd}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
""",
        encoding="utf-8",
    )
    (root / "state").mkdir(exist_ok=True)
    process = subprocess.Popen(
        [str(DOVECOT), "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = Dovecot(root, imap_port, imaps_port, root / "ca.pem", maildir, process, base_dir)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            raise RuntimeError(f"dovecot exited: {err}\n{log}")
        try:
            with socket.create_connection(("127.0.0.1", imap_port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError("dovecot did not start listening")
