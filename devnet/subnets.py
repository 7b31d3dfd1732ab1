"""Facts about the private ranges devnet routes: which may go through the VM, which overlap,
and a free one to suggest in an error message."""

from __future__ import annotations

import ipaddress

# What devnet routes through the VM: private ranges only, RFC 1918's three and, for IPv6,
# unique local fc00::/7 (RFC 4193). Not 100.64.0.0/10 (RFC 6598): that is the carrier's NAT
# and Tailscale's addresses, routes the host has for itself; nor public space, whose traffic
# (a VPN's full tunnel's included) must never be pulled into the VM.
PRIVATE = tuple(map(ipaddress.ip_network, ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                           "fc00::/7")))


def not_private(net) -> str | None:
    """Why `net` must not be routed through the VM, or None when it may."""
    net = ipaddress.ip_network(str(net))
    if any(net.version == p.version and net.subnet_of(p) for p in PRIVATE):
        return None
    return (f"{net} is not a private range (devnet routes only 10.0.0.0/8, 172.16.0.0/12, "
            "192.168.0.0/16 and fc00::/7 through the VM)")


def overlaps(named: list[tuple[str, ipaddress.IPv4Network]], subnets) -> list[str]:
    """Every pair among the host-only network and the Docker subnets that overlaps."""
    items = list(named) + [(f"devnet.docker.subnets {s}", s) for s in subnets]
    found = []
    for i, (a_name, a) in enumerate(items):
        for b_name, b in items[i + 1 :]:
            if a.overlaps(b):
                found.append(f"{a_name} ({a}) overlaps {b_name} ({b})")
    return found


def suggest_free(taken, prefixlen: int = 16) -> str:
    """A private range that overlaps nothing in `taken`, for error messages."""
    candidates = [f"172.{n}.0.0/{prefixlen}" for n in range(18, 32)]
    candidates += [f"10.{n}.0.0/{prefixlen}" for n in range(10, 251, 10)]
    candidates += [f"192.168.{n}.0/24" for n in range(100, 251, 10)]
    for cand in map(ipaddress.ip_network, candidates):
        if not any(cand.overlaps(t) for t in taken):
            return str(cand)
    return "a free private range"
