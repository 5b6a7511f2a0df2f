"""OpenSSH's sshd as the embedded target's SSH front: Mercurial over SSH to the same repositories hgweb serves.

Debian's openssh-server binary, run by the harness as its own process on a loopback port, with a run-local
config, host key, keys and authorized_keys in its work directory: never the system's service, config or keys.
Two keys are made for each run, both forced to run hgharness.hgssh (no shell, no forwarding, no pty):
- `push`: reads and pushes every repository under the root;
- `read`: reads them; its pushes are refused.

The client side (hgharness.hgclient, `traffic --transport ssh`) verifies the host key against the known_hosts
file written here: an unknown host key is an error, never accepted silently.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from hgharness.errors import HarnessError
from hgharness.server import ManagedServer

SSHD_PACKAGE = "openssh-server"
PRIVSEP_DIR = Path("/run/sshd")  # sshd started by root refuses to run without it (the package's unit makes it)


def find_sshd() -> str:
    """sshd's absolute path (it must be started by one), or a one-line error naming the package."""
    for path in (shutil.which("sshd"), "/usr/sbin/sshd"):
        if path and os.access(path, os.X_OK):
            return os.path.abspath(path)
    raise HarnessError(f"sshd not found: install Debian's {SSHD_PACKAGE} (apt-get install {SSHD_PACKAGE}) for "
                       "the SSH transport")


def ssh_available() -> str | None:
    """Why the embedded target cannot offer SSH here (one line), or None when it can."""
    try:
        find_sshd()
    except HarnessError as e:
        return str(e)
    for tool in ("ssh", "ssh-keygen"):
        if not shutil.which(tool):
            return f"{tool} not found: install Debian's openssh-client for the SSH transport"
    if os.geteuid() == 0 and not PRIVSEP_DIR.is_dir():
        try:
            PRIVSEP_DIR.mkdir(mode=0o755)
        except OSError as e:
            return f"sshd needs its privilege separation directory {PRIVSEP_DIR}: {e.strerror}"
    return None


def keygen(path: Path, comment: str) -> Path:
    """A new ed25519 key pair at path (private) and path.pub; returns path."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
    return path


class EmbeddedSshd(ManagedServer):
    """sshd on loopback serving the repositories under repos_dir to two keys (push and read)."""

    what, process_name, temp_prefix = "embedded sshd", "sshd", "hgharness-sshd-"
    KEYS = ("push", "read")

    def __init__(self, repos_dir: str | Path | None, workdir: str | Path | None = None, host: str = "127.0.0.1",
                 port: int = 0, forced_command: list[str] | None = None, authorized_keys: Path | None = None,
                 keys: dict[str, Path] | None = None):
        """authorized_keys and keys: a site that manages its own (Kallithea writes an authorized_keys file whose
        forced command is its own `kallithea-cli ssh-serve`); else the harness writes both, over repos_dir."""
        self.repos_dir = Path(repos_dir).resolve() if repos_dir is not None else None
        # what each key's connection runs (its options follow); tests put a deliberately broken server here
        self.forced_command = forced_command or [sys.executable, "-m", "hgharness.hgssh"]
        super().__init__(workdir, host, port)
        self.user = getpass.getuser()  # sshd logs in as the account that runs it; the forced command is all it gets
        self.error_log = self.workdir / "sshd.log"
        self.stderr_log = self.error_log  # sshd -e: its log on stderr
        # a site's own file and keys, or None: the harness writes both in _start
        self.authorized_keys = Path(authorized_keys) if authorized_keys is not None else None
        self.keys = dict(keys) if keys else {name: self.workdir / f"{name}_key" for name in self.KEYS}
        self.known_hosts = self.workdir / "known_hosts"

    @property
    def url(self) -> str:
        return f"ssh://{self.user}@{self.host}:{self.port}/"

    def target_options(self, key: str = "push") -> dict:
        """The SSH settings of a Target for one of the keys."""
        return {"ssh_url": self.url, "ssh_key": str(self.keys[key]), "ssh_known_hosts": str(self.known_hosts)}

    def _start(self, timeout: float) -> None:
        problem = ssh_available()
        if problem:
            raise HarnessError(problem)
        self._sshd = find_sshd()
        keygen(self.workdir / "host_key", "hgharness embedded sshd")
        if self.authorized_keys is None:
            self._write_authorized_keys()
        self.choose_port()
        self._write_config()
        self.launch(timeout)
        host_key = (self.workdir / "host_key.pub").read_text().split()
        self.known_hosts.write_text(f"[{self.host}]:{self.port} {host_key[0]} {host_key[1]}\n")

    def _write_authorized_keys(self) -> None:
        hgrc = self.workdir / "server.hgrc"
        hgrc.write_text("[ui]\ninteractive = false\n")
        lines = []
        for name, path in self.keys.items():
            keygen(path, f"hgharness {name}")
            command = [*self.forced_command, "--root", str(self.repos_dir), "--hgrc", str(hgrc)]
            if name == "read":
                command.append("--read-only")
            forced = " ".join(shlex.quote(c) for c in command).replace('"', '\\"')
            lines.append(f'command="{forced}",restrict {path.with_suffix(".pub").read_text().strip()}')
        self.authorized_keys = self.workdir / "authorized_keys"
        self.authorized_keys.write_text("\n".join(lines) + "\n")

    def _write_config(self) -> None:
        self.config = self.workdir / "sshd_config"
        self.config.write_text("\n".join([
            f"Port {self.port}", f"ListenAddress {self.host}", f"HostKey {self.workdir / 'host_key'}",
            f"PidFile {self.workdir / 'sshd.pid'}", f"AuthorizedKeysFile {self.authorized_keys}",
            f"AllowUsers {self.user}", "PubkeyAuthentication yes", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password", "UsePAM no",
            "StrictModes no",  # the run's files live under /tmp, whose mode sshd's strict check refuses
            "PermitUserEnvironment no", "X11Forwarding no", "AllowTcpForwarding no", "PrintMotd no",
            "MaxStartups 100:30:200", "MaxSessions 100", "LogLevel INFO",
        ]) + "\n")

    def port_changed(self) -> None:
        self._write_config()

    def argv(self) -> list[str]:
        return [self._sshd, "-D", "-e", "-f", str(self.config)]

    def env(self) -> dict:
        # the forced command's environment is sshd's own: nothing of the harness's settings or secrets
        return {k: v for k, v in os.environ.items() if not k.startswith(("HGHARNESS_", "HG", "PYTHONPATH"))}

    def _ready(self) -> bool:
        if not self.proc.alive():
            from hgharness.server import _Exited

            raise _Exited()
        try:
            with socket.create_connection((self.host, self.port), timeout=self.probe_timeout) as s:
                return s.recv(64).startswith(b"SSH-2.0-")
        except OSError:
            return False

    def stop(self) -> None:
        """sshd's connection children run in sessions of their own: stopped with it, not left serving."""
        import psutil

        children = []
        if self.proc is not None:
            try:
                children = psutil.Process(self.proc.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                pass
        super().stop()
        for child in children:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(children, timeout=5)


def offers_ssh(server) -> bool:
    """An embedded server the harness can put its sshd before: hgweb (its repositories, its own forced command)
    or Kallithea (its own keys and ssh-serve)."""
    return getattr(server, "site", None) in ("hgweb", "kallithea") and getattr(server, "repos_dir", None) is not None


@contextlib.contextmanager
def ssh_target(target, server=None, progress=print):
    """The target with SSH settings: its own (ssh_url ...), else those of an sshd started here for an embedded
    hgweb `server` (stopped on exit). A one-line HarnessError says why there is none."""
    import dataclasses

    if target.ssh_url:
        problem = target.ssh_problem()
        if problem:
            raise HarnessError(problem)
        yield target, None
        return
    if server is None:
        raise HarnessError(target.ssh_problem())
    if not offers_ssh(server):
        raise HarnessError(f"the embedded {getattr(server, 'site', None)} target offers no SSH in this build")
    kw = {}
    if server.site == "kallithea":  # its users' keys, each forced to kallithea-cli ssh-serve (permissions checked there)
        kw = {"authorized_keys": server.ssh_authorized_keys, "keys": server.ssh_keys(target)}
    with EmbeddedSshd(server.repos_dir, **kw) as sshd:
        progress(f"embedded sshd at {sshd.url} (keys: push, read-only{', managed by Kallithea' if kw else ''})")
        yield dataclasses.replace(target, **sshd.target_options()), sshd
