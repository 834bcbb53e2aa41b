"""A real IMAP server on loopback for tests: Debian's dovecot, started with a configuration of its own in
a temporary folder (one user with a plain password, a Maildir, no TLS), and the bounce samples of
`tests/data/bounces/` with their VERP addresses filled in.

Without dovecot (`make test` installs Debian's dovecot-imapd when it can) the tests that need it are
skipped with the reason, except under CI (CI=true), where that fails the run.
"""
from __future__ import annotations

import imaplib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.smtp_server import free_port

DOVECOT = Path(os.environ.get("DOVECOT_PATH", "/usr/sbin/dovecot"))
SAMPLES = Path(__file__).resolve().parent / "data" / "bounces"
USER, PASSWORD = "bounces", "imap test password"

DOVECOT_CONF = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = vendorpulse-test-{port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = 0
default_login_user = {login_user}
default_internal_user = {user}
default_internal_group = {group}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
"""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(f"the bounce mailbox tests cannot run under CI: {reason}")
    pytest.skip(reason)


def sample(name: str, addresses: dict[str, tuple[str, str]]) -> bytes:
    """The sample file with `{{verp:KEY}}` and `{{email:KEY}}` replaced from `addresses` (KEY -> (verp,
    stakeholder email)); CRLF line ends, as mail is stored and sent."""
    text = (SAMPLES / name).read_text()
    for key, (verp, email) in addresses.items():
        text = text.replace(f"{{{{verp:{key}}}}}", verp).replace(f"{{{{email:{key}}}}}", email)
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


@dataclass
class ImapServer:
    root: Path
    port: int
    process: subprocess.Popen
    mail_uid: int
    mail_gid: int

    host = "127.0.0.1"
    user = USER
    password = PASSWORD

    @property
    def maildir(self) -> Path:
        return self.root / "mail" / USER

    def deliver(self, name: str, raw: bytes) -> None:
        """Put a message into the INBOX the way a delivery agent does: write in tmp/, rename into new/."""
        temporary = self.maildir / "tmp" / f"{time.time_ns()}.{name}"
        temporary.write_bytes(raw)
        if os.getuid() == 0:
            os.chown(temporary, self.mail_uid, self.mail_gid)
        temporary.rename(self.maildir / "new" / temporary.name)

    def connect(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4(self.host, self.port, timeout=10)
        imap.login(USER, PASSWORD)
        return imap

    def create_folder(self, folder: str) -> None:
        imap = self.connect()
        try:
            imap.create(folder)
        finally:
            imap.logout()

    def messages(self, folder: str = "INBOX") -> list[tuple[bytes, bytes]]:
        """(flags, raw message) of every message in `folder`, read without changing the \\Seen flags."""
        imap = self.connect()
        try:
            imap.select(folder, readonly=True)
            _, data = imap.uid("SEARCH", None, "ALL")
            found = []
            for uid in data[0].split():
                _, fetched = imap.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
                for item in fetched:
                    if isinstance(item, tuple):
                        found.append((item[0], item[1]))
            return found
        finally:
            imap.logout()

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def _wait_for_port(port: int, process: subprocess.Popen, root: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"dovecot exited with {process.returncode}:\n"
                                 f"{process.stderr.read().decode(errors='replace')}\n"
                                 f"{(root / 'dovecot.log').read_text(errors='replace') if (root / 'dovecot.log').exists() else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("dovecot did not listen within 15 s")


@pytest.fixture
def imap_server():
    """A dovecot of our own on a free loopback port, stopped (and its folder left for a look) after."""
    if not DOVECOT.exists():
        unavailable(f"{DOVECOT} is not installed (make test installs Debian's dovecot-imapd when it can)")
    # Not under pytest's private temporary folder: dovecot's unprivileged login process must reach its
    # sockets in here.
    root = Path(tempfile.mkdtemp(prefix="vp-dovecot-"))
    root.chmod(0o755)
    for folder in ("run", "state", "home", "mail"):
        (root / folder).mkdir()
    for sub in ("cur", "new", "tmp"):
        (root / "mail" / USER / sub).mkdir(parents=True)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    import grp
    import pwd

    uid, gid = os.getuid(), os.getgid()
    user, group = pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name
    login_user = user
    if uid == 0:  # dovecot runs neither logins nor mail as root: Debian's package adds these users
        login_user, user, group = "dovenull", "dovecot", "dovecot"
        uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid
        for path in [root / "home", root / "mail", *(root / "mail").rglob("*")]:
            os.chown(path, uid, gid)
    port = free_port()
    conf = root / "dovecot.conf"
    conf.write_text(DOVECOT_CONF.format(root=root, port=port, uid=uid, gid=gid, user=user, group=group,
                                        login_user=login_user))
    process = subprocess.Popen([str(DOVECOT), "-F", "-c", str(conf)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    try:
        _wait_for_port(port, process, root)
        yield ImapServer(root, port, process, uid, gid)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(root, ignore_errors=True)
