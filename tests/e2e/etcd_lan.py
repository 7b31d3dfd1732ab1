"""A 3-member etcd cluster on a LAN of its own, for the two-host DNS tests.

Namespaces `<tag>-lan` (a bridge) and `<tag>-e1..3` (one member each, Debian's etcd-server),
linked by veths; a sim VM joins with `attach` (a veth into its namespace: the VM's LAN card,
which a power-off takes away like every other link but eth0/eth1, so `attach` again after
`up`). Members run by PID and are killed by PID; `destroy` deletes every namespace it made.
Addresses: 10.123.0.0/24 (members .1-.3, VMs from .11), clear of every sim network.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from devnet.dns.etcd_member import Member, start_cluster

NET = "10.123.0"


def ip(*argv: str, check: bool = True) -> None:
    subprocess.run(["ip", *argv], check=check, capture_output=True)


class EtcdLan:
    def __init__(self, tag: str, data: Path):
        self.tag, self.lan = tag, f"{tag}-lan"
        self.members = [Member(f"{tag}e{i}", f"{NET}.{i}", data / f"e{i}.etcd",
                               netns=f"{tag}-e{i}") for i in (1, 2, 3)]
        self.made: list[str] = []

    @property
    def endpoints(self) -> list[str]:
        return [m.client_url for m in self.members]

    def create(self) -> None:
        self._netns(self.lan)
        ip("-n", self.lan, "link", "add", "br0", "type", "bridge")
        ip("-n", self.lan, "link", "set", "br0", "up")
        for i, m in enumerate(self.members, 1):
            self._netns(m.netns)
            self._link(m.netns, f"p{i}", f"{m.ip}/24")
        start_cluster(self.members)

    def _netns(self, name: str) -> None:
        ip("netns", "add", name)
        self.made.append(name)
        ip("-n", name, "link", "set", "lo", "up")

    def _link(self, ns: str, port: str, cidr: str, inner: str = "lan0") -> None:
        """veth `inner` in `ns` (with `cidr`) <-> `port` on the LAN's bridge."""
        ip("link", "add", inner, "netns", ns, "type", "veth", "peer", "name", port,
           "netns", self.lan)
        ip("-n", self.lan, "link", "set", port, "master", "br0", "up")
        ip("-n", ns, "addr", "add", cidr, "dev", inner)
        ip("-n", ns, "link", "set", inner, "up")

    def attach(self, vm_ns: str, n: int) -> str:
        """The VM's LAN card, `NET.<10+n>`; again after a power cycle (idempotent)."""
        port = f"v{n}"
        ip("-n", self.lan, "link", "del", port, check=False)
        self._link(vm_ns, port, f"{NET}.{10 + n}/24", inner=f"lan{n}")
        return f"lan{n}"

    def cut(self, n: int, up: bool) -> None:
        """Pull the VM's cable at the LAN's switch (its packets vanish, as in a partition:
        nothing tells it) or plug it in again."""
        ip("-n", self.lan, "link", "set", f"v{n}", "up" if up else "down")

    def destroy(self) -> None:
        for m in self.members:
            m.stop()
        for ns in reversed(self.made):
            ip("netns", "del", ns, check=False)
        self.made.clear()
