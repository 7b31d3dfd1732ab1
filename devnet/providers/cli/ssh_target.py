"""How to reach a CLI-managed VM: the output of its CLI (OpenSSH-style ssh-config, `export`
lines, a bare IP) parsed into an SSH target, and the Fabric connection to it.

The VM's host key is always checked against a pinned one: none of these CLIs pins it itself
(their ssh configs say StrictHostKeyChecking no, UserKnownHostsFile /dev/null), so devnet
reads the VM's public host keys once, through the CLI's own `ssh` command, into
<state_dir>/known_hosts, and every later connection (Fabric, the `ssh -L` socket forward)
refuses any other key.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import paramiko
from fabric import Config, Connection

from devnet import files
from devnet.errors import DevnetError

KEY_VALUE = re.compile(r"^\s*(\w+)(?:\s*=\s*|\s+)(\S.*)$")  # `Key value` or `Key=value`


def parse_ssh_config(text: str) -> dict[str, list[str]]:
    """OpenSSH `Key value` lines (vagrant ssh-config, colima ssh-config): keys lower-cased,
    quotes removed, each value kept (IdentityFile may repeat)."""
    fields: dict[str, list[str]] = {}
    for line in text.splitlines():
        found = KEY_VALUE.match(line)
        if found and not line.lstrip().startswith("#"):
            try:
                value = " ".join(shlex.split(found[2]))
            except ValueError:  # an unbalanced quote: keep the text as it is
                value = found[2].strip()
            fields.setdefault(found[1].lower(), []).append(value)
    return fields


def parse_exports(text: str) -> dict[str, str]:
    """`export K=V` lines (boot2docker shellinit, docker-machine env --shell bash), quotes
    removed; comments and anything else ignored."""
    env = {}
    for line in text.splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:  # not a shell line
            continue
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            key, _, value = words[1].partition("=")
            env[key] = value
    return env


def parse_ip(text: str, source: str) -> str:
    """The one IPv4 address a command printed (`boot2docker ip`, `docker-machine ip`)."""
    try:
        return str(ipaddress.IPv4Address(text.strip()))
    except ValueError:
        raise DevnetError(f"`{source}` printed {text.strip()!r}, not an IPv4 address") from None


class HostKeyChanged(DevnetError):
    """The VM answered with another host key than the one devnet pinned."""

    def __init__(self, where: str, known_hosts: str, hint: str):
        super().__init__(f"the SSH host key of the VM at {where} is not the one devnet pinned "
                         f"in {known_hosts}: devnet does not connect (another machine on that "
                         "address, or the VM was re-created outside devnet)", hint)


def host_id(host: str, port: int) -> str:
    """How known_hosts names a host (OpenSSH's and paramiko's form)."""
    return host if port == 22 else f"[{host}]:{port}"


def known_hosts_lines(host: str, port: int, pub_text: str) -> list[str]:
    """known_hosts lines for `host:port` from public host key files' text (`cat
    /etc/ssh/ssh_host_*_key.pub`: `type base64 comment`); anything else is left out."""
    lines = []
    for line in pub_text.splitlines():
        words = line.split()
        entry = f"{host_id(host, port)} {' '.join(words[:2])}"
        try:
            if len(words) >= 2 and paramiko.hostkeys.HostKeyEntry.from_line(entry):
                lines.append(entry)
        except paramiko.hostkeys.InvalidHostKey:  # not a key (a motd line, an error)
            continue
    return lines


@dataclass(frozen=True)
class SshTarget:
    """Where and as whom to SSH into the VM, and the known_hosts file its key is pinned in
    (None: not pinned yet, see pinned(); such a target does not connect)."""

    host: str
    port: int
    user: str
    keys: tuple[str, ...] = ()
    known_hosts: str | None = None

    @classmethod
    def from_ssh_config(cls, text: str) -> SshTarget:
        fields = parse_ssh_config(text)
        if "hostname" not in fields:
            raise DevnetError(f"no HostName in the ssh config:\n{text.strip()}")

        def one(key, default):
            return fields.get(key, [default])[0]

        checked = one("stricthostkeychecking", "ask").lower() not in ("no", "off")
        known = one("userknownhostsfile", "~/.ssh/known_hosts").split()[0]
        return cls(one("hostname", ""), int(one("port", "22")), one("user", getpass.getuser()),
                   tuple(os.path.expanduser(k) for k in fields.get("identityfile", [])),
                   os.path.expanduser(known) if checked and known != "/dev/null" else None)

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    def pinned(self, path: Path, fetch: Callable[[], str]) -> SshTarget:
        """This target with its host key pinned in `path`: recorded there from `fetch()` (the
        VM's public host keys, read through the provider's own channel) the first time.
        A target whose ssh config names a checked known_hosts file keeps that one."""
        if self.known_hosts:
            return self
        found = paramiko.HostKeys(str(path)) if path.exists() else paramiko.HostKeys()
        if found.lookup(host_id(self.host, self.port)) is None:
            lines = known_hosts_lines(self.host, self.port, fetch())
            if not lines:
                raise DevnetError(f"could not read the SSH host key of the VM at {self}: devnet "
                                  "does not connect to a VM whose key it cannot pin",
                                  "invoke status   (is the VM up? does its ssh command work?)")
            path.parent.mkdir(parents=True, exist_ok=True)
            old = path.read_text() if path.exists() else ""
            files.write_local(path, old + "\n".join(lines) + "\n")
        return replace(self, known_hosts=str(path))

    def connect(self, timeout: float) -> Connection:
        conn = Connection(
            self.host, user=self.user, port=self.port, connect_timeout=timeout,
            # The person's ~/.ssh/config must not send the VM's address elsewhere.
            config=Config(ssh_config=paramiko.SSHConfig()),
            connect_kwargs={"key_filename": list(self.keys), "look_for_keys": not self.keys,
                            "allow_agent": not self.keys},
        )
        # Fabric's default policy adds any key it is shown: only the pinned one is accepted.
        conn.client.set_missing_host_key_policy(paramiko.RejectPolicy())
        if not self.known_hosts:
            raise DevnetError(f"no pinned SSH host key for {self}: devnet does not connect "
                              "to an unverified VM")
        if Path(self.known_hosts).exists():
            conn.client.load_host_keys(self.known_hosts)
        return conn
