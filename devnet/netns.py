"""Linux network namespaces, and a Context that runs every command inside one."""

from __future__ import annotations

import os
import shlex

from invoke import Context

from devnet.system import cmd

NETNS_DIR = "/run/netns"


def exists(name: str) -> bool:
    return os.path.exists(os.path.join(NETNS_DIR, name))


def add(c, name: str) -> None:
    c.run(cmd("ip", "netns", "add", name), hide=True)
    c.run(cmd("ip", "-n", name, "link", "set", "lo", "up"), hide=True)


def delete(c, name: str) -> bool:
    if not exists(name):
        return False
    c.run(cmd("ip", "netns", "delete", name), hide=True)
    return True


class NetnsContext(Context):
    """An Invoke Context whose `run` happens inside network namespace `netns`.

    `ip netns exec` also bind-mounts /etc/netns/<netns>/resolv.conf over /etc/resolv.conf,
    so programs inside see the resolver configured for that namespace, as on a real host.
    """

    def __init__(self, netns: str, config=None):
        super().__init__(config=config)
        self._set(netns=netns)

    def run(self, command: str, **kwargs):
        return super().run(f"ip netns exec {shlex.quote(self.netns)} {command}", **kwargs)
