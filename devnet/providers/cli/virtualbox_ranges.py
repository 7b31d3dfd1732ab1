"""VirtualBox's allowed host-only ranges, checked before a VirtualBox VM is created.

Since VirtualBox 6.1.28 a host-only adapter on Linux, macOS and Solaris may only have an
address inside the ranges that /etc/vbox/networks.conf lists, or inside 192.168.56.0/21 when
that file does not exist (VirtualBox manual, "Host-Only Networking"; Changelog 6.1.28). The
walk-through's 172.16.0.0/16 is outside: `vagrant up` stops with "The IP address configured
for the host-only network is not within the allowed ranges" (hashicorp/vagrant#12642,
kit-tm/sdn-cockpit#14), VBoxManage with E_ACCESSDENIED (cilium/cilium#17900). The file's
lines are `* <range> <range>...`; lines starting with # are ignored.
"""

from __future__ import annotations

import ipaddress
import re

from devnet.errors import DevnetError

NETWORKS_CONF = "/etc/vbox/networks.conf"
DEFAULT_RANGE = ipaddress.ip_network("192.168.56.0/21")
SINCE = (6, 1, 28)
VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)", re.M)  # `VBoxManage --version`: 7.0.10r158379


def parse_version(text: str) -> tuple[int, ...] | None:
    """The version `VBoxManage --version` printed (after any warnings it prints first)."""
    found = VERSION.findall(text)
    return tuple(int(n) for n in found[-1]) if found else None


def parse_networks_conf(text: str) -> list[ipaddress.IPv4Network]:
    """The IPv4 ranges in networks.conf (`* 10.0.0.0/8 192.168.0.0/16`)."""
    ranges = []
    for ln in text.splitlines():
        words = ln.split()
        if not words or words[0] != "*":
            continue  # comments (#) and anything that is not a range line
        for word in words[1:]:
            try:
                net = ipaddress.ip_network(word, strict=False)
            except ValueError:
                continue
            if net.version == 4:
                ranges.append(net)
    return ranges


def allowed(version: tuple[int, ...] | None, conf: str | None):
    """The ranges host-only adapters may use (None: any; VirtualBox before 6.1.28)."""
    if version is not None and version < SINCE:
        return None
    return parse_networks_conf(conf) if conf is not None else [DEFAULT_RANGE]


def check(local, network: ipaddress.IPv4Network) -> str:
    """Why `network` may be VirtualBox's host-only network here; DevnetError, with the line
    to add to networks.conf, when VirtualBox would refuse it."""
    out = local.run("VBoxManage --version", hide=True, warn=True)
    version = parse_version(out.stdout) if out.ok else None
    conf_out = local.run(f"cat {NETWORKS_CONF}", hide=True, warn=True)
    conf = conf_out.stdout if conf_out.ok else None
    ranges = allowed(version, conf)
    shown = ".".join(map(str, version)) if version else "(version unknown: assumed >= 6.1.28)"
    if ranges is None:
        return f"VirtualBox {shown} allows any host-only range"
    if any(network.subnet_of(r) for r in ranges):
        return f"{network} is inside VirtualBox's allowed host-only ranges"
    source = NETWORKS_CONF if conf is not None else f"its default (no {NETWORKS_CONF})"
    # A new file replaces the default range: keep 192.168.56.0/21 allowed beside devnet's.
    line = f"* {network}" if conf is not None else f"* {network} {DEFAULT_RANGE}"
    listed = ", ".join(map(str, ranges)) or "nothing"
    raise DevnetError(
        f"VirtualBox {shown} gives host-only adapters only addresses in {listed} ({source}); "
        f"devnet.hostonly.network {network} is outside, so creating the VM would fail",
        f"add the line `{line}` to {NETWORKS_CONF} (sudo mkdir -p /etc/vbox; echo '{line}' | "
        f"sudo tee -a {NETWORKS_CONF}), or set devnet.hostonly inside {DEFAULT_RANGE} "
        "(network 192.168.56.0/24, host_ip 192.168.56.1, vm_ip 192.168.56.11)")
