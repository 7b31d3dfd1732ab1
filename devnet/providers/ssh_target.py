"""How to reach a CLI-managed VM: the output of its CLI (OpenSSH-style ssh-config, `export`
lines, a bare IP) parsed into an SSH target, and the Fabric connection to it."""

from __future__ import annotations

import getpass
import ipaddress
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import paramiko
from fabric import Config, Connection

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


@dataclass(frozen=True)
class SshTarget:
    """Where and as whom to SSH into the VM. known_hosts None: host keys are not checked, as
    the CLIs' own ssh does for their VMs (StrictHostKeyChecking no, UserKnownHostsFile
    /dev/null): the key changes each time the VM is re-created."""

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

    def connect(self, timeout: float) -> Connection:
        conn = Connection(
            self.host, user=self.user, port=self.port, connect_timeout=timeout,
            # The person's ~/.ssh/config must not send the VM's address elsewhere.
            config=Config(ssh_config=paramiko.SSHConfig()),
            connect_kwargs={"key_filename": list(self.keys), "look_for_keys": not self.keys,
                            "allow_agent": not self.keys},
        )
        if self.known_hosts:
            if Path(self.known_hosts).exists():
                conn.client.load_host_keys(self.known_hosts)
            conn.client.set_missing_host_key_policy(paramiko.RejectPolicy())
        return conn
