"""Where the VM's real DNS servers are: the default upstream devnet forwards other names to.

Most VMs list them in /etc/resolv.conf. Where that file is systemd-resolved's stub (Ubuntu,
colima, lima, Fedora: `nameserver 127.0.0.53`), the real servers are the ones resolved itself
uses: /run/systemd/resolve/resolv.conf lists them (global and every link's), and
`resolvectl dns` shows the same per link. devnet never forwards to a loopback stub: from a
container it is unreachable, and from the VM a stub whose upstream is devnet would loop.

Skipped, and said so: loopback, link-local (fe80::..%3 needs its interface, and a container
has another) and, for now, IPv6 servers (the forwarder's `ip[:port]` form is IPv4's).
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from pathlib import Path

from devnet.resolv_conf import nameservers

RESOLV_CONF = "/etc/resolv.conf"
RESOLVED_UPLINK = "/run/systemd/resolve/resolv.conf"


def resolvectl_servers(text: str) -> list[str]:
    """Servers from `resolvectl dns`: the Global line first, then each link's, no repeats.

        Global: 1.1.1.1 1.0.0.1
        Link 2 (eno1): 1.1.1.1#cloudflare-dns.com 1.0.0.1
        Link 18 (tun0): 10.45.248.15
    """
    found = []
    for line in text.splitlines():
        if line.startswith("Global:"):
            rest = line[len("Global:"):]
        elif line.startswith("Link ") and "): " in line:
            rest = line.split("): ", 1)[1]
        else:
            continue
        for word in rest.split():
            server = word.split("#", 1)[0]  # DNS-over-TLS server name
            if server.startswith("["):  # [addr]:port
                server = server[1:].split("]", 1)[0]
            if server and server not in found:
                found.append(server)
    return found


def skip_reason(server: str, exclude: str = "") -> str | None:
    """Why a listed server is no upstream for devnet, or None when it is one."""
    addr_text = server.partition(":")[0] if server.count(":") == 1 else server
    if "%" in addr_text:
        return "link-local, needs its interface"
    try:
        addr = ipaddress.ip_address(addr_text)
    except ValueError:
        return "not an IP address"
    if addr.is_loopback or addr.is_unspecified:
        return "a loopback stub"
    if addr.is_link_local:
        return "link-local, needs its interface"
    if addr.version == 6:
        return "IPv6 (devnet forwards over IPv4)"
    if addr_text == exclude:
        return "devnet itself"
    return None


def usable(servers, exclude: str = "") -> list[str]:
    return [s for s in servers if skip_reason(s, exclude) is None]


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _resolvectl_dns() -> str:
    if not shutil.which("resolvectl"):
        return ""
    try:
        out = subprocess.run(["resolvectl", "dns"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout if out.returncode == 0 else ""


def discover(exclude: str = "", read=_read, resolvectl=_resolvectl_dns) -> tuple[list[str], str]:
    """(servers, where they came from) for the VM devnet's DNS runs in; ([], why) if none."""
    listed = nameservers(read(RESOLV_CONF))
    servers = usable(listed, exclude)
    if servers:
        return servers, RESOLV_CONF
    stub = ", ".join(listed) or "no nameserver"
    servers = usable(nameservers(read(RESOLVED_UPLINK)), exclude)
    if servers:
        return servers, f"{RESOLVED_UPLINK} ({RESOLV_CONF} has {stub})"
    servers = usable(resolvectl_servers(resolvectl()), exclude)
    if servers:
        return servers, f"resolvectl dns ({RESOLV_CONF} has {stub})"
    return [], (f"none: {RESOLV_CONF} has {stub}, and neither {RESOLVED_UPLINK} nor "
                "`resolvectl dns` lists a server devnet can forward to")
