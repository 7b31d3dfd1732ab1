"""The developer's machine on Linux: routes through `ip -j` (JSON), the resolver
(systemd-resolved or /etc/resolv.conf), iptables/nftables for vpn.fix (devnet.host.
linux_firewall). devnet.host.macos offers the same functions; steps call them through
`dn.os`, on any Invoke-style Context `c`.
"""

from __future__ import annotations

import ipaddress

from devnet.host.linux_firewall import (  # noqa: F401  (part of this adapter's interface)
    add_exception,
    describe_exception,
    firewall_problems,
    remove_exception,
)
from devnet.host.linux_policy import (  # noqa: F401  (policy routing: ip rule + tables)
    add_policy_rule,
    all_routes,
    choose,
    delete_policy_rule,
    describe_rule,
    free_priority_below,
    kernel_route,
    rules,
    same,
)
from devnet.host.linux_policy import ip_json as _json
from devnet.host.routes import conflicts, describe, destination  # noqa: F401  (interface)
from devnet.host.sudo import run_as_root
from devnet.resolv_conf import nameservers  # noqa: F401  (part of this adapter's interface)
from devnet.system import cmd

POLICY_ROUTING = True  # `ip rule` can send a destination to another table (macOS: no)

RESOLV_CONF = "/etc/resolv.conf"
RESOLVED_STUB = "127.0.0.53"


# -- the tunnel's link (tunnel.link) --------------------------------------------------------

def set_tunnel_address(c, iface: str, host_cidr: str, peer_ip) -> None:
    """The host-only network's address on the tunnel's link, its connected route with it."""
    run_as_root(c, cmd("ip", "addr", "flush", "dev", iface), hide=True)
    run_as_root(c, cmd("ip", "addr", "add", host_cidr, "dev", iface), hide=True)
    run_as_root(c, cmd("ip", "link", "set", iface, "up"), hide=True)


def has_tunnel_address(c, iface: str, host_cidr: str) -> bool:
    out = c.run(cmd("ip", "-o", "addr", "show", "dev", iface), hide=True, warn=True)
    return out.ok and f" inet {host_cidr} " in out.stdout


# -- routes ----------------------------------------------------------------------------------

def routes(c) -> list[dict]:
    """The main routing table, as `ip -j route` gives it."""
    return _json(c, "ip", "-j", "route", "show", "table", "main")


def route_to(c, dst) -> dict | None:
    """The route whose destination is exactly `dst`, if any."""
    net = ipaddress.ip_network(str(dst))
    return next((r for r in routes(c) if destination(r) == net), None)


def add_route(c, dst, via) -> None:
    run_as_root(c, cmd("ip", "route", "add", dst, "via", via), hide=True)


def delete_route(c, dst, via) -> bool:
    """Remove the route if it is there with this gateway; False when it was not."""
    route = route_to(c, dst)
    if not route or route.get("gateway") != str(via):
        return False
    run_as_root(c, cmd("ip", "route", "del", dst, "via", via), hide=True)
    return True


def replace_route(c, dst, via=None, dev=None, src=None, warn=False):
    """Route `dst` via `via` and/or out of `dev`, whatever routed it before. With `src` it
    is the link's own (kernel) route, as the address on the link makes it."""
    argv = ["ip", "route", "replace", dst]
    if via:
        argv += ["via", via]
    if dev:
        argv += ["dev", dev]
    if src:
        argv += ["proto", "kernel", "scope", "link", "src", src]
    return run_as_root(c, cmd(*argv), hide=True, warn=warn)


def route_get(c, address) -> dict:
    """Which route the kernel picks for `address` (`ip route get`)."""
    found = _json(c, "ip", "-j", "route", "get", address)
    return found[0] if found else {}


def monitor_argv() -> list[str]:
    """A command that prints a line whenever routes, links or addresses change."""
    return ["ip", "monitor", "route", "link", "address"]


# -- resolver --------------------------------------------------------------------------------



def uses_resolved(c) -> bool:
    out = c.run(f"cat {RESOLV_CONF}", hide=True, warn=True)
    return out.ok and nameservers(out.stdout)[:1] == [RESOLVED_STUB] and c.run(
        "resolvectl status", hide=True, warn=True).ok


def resolver_method(c) -> str:
    """How dns.resolver sends the domain to devnet here: per-link split DNS when
    systemd-resolved owns /etc/resolv.conf, else devnet first in /etc/resolv.conf."""
    return "resolved" if uses_resolved(c) else "resolvconf"


def resolvers(c) -> list[dict]:
    """What libc asks: /etc/resolv.conf's servers, for every domain."""
    out = c.run(f"cat {RESOLV_CONF}", hide=True, warn=True)
    return [{"domain": None, "nameservers": nameservers(out.stdout if out.ok else ""),
             "port": 53}]


def flush_dns(c) -> None:
    """Forget cached answers: only systemd-resolved caches (plain libc does not)."""
    if uses_resolved(c):
        run_as_root(c, "resolvectl flush-caches", hide=True, warn=True)


# -- probes (doctor, vm.hostonly's check) ----------------------------------------------------

def ping_argv(address: str, seconds: int = 1) -> list[str]:
    """One echo request; iputils ping's -W is the wait for the reply in seconds (ping(8))."""
    return ["ping", "-c1", f"-W{seconds}", address]


def lookup_argv(name: str) -> list[str]:
    """Resolve `name` the way programs do (NSS: /etc/hosts, then the resolver)."""
    return ["getent", "hosts", name]


def parse_lookup(text: str) -> list[str]:
    """`getent hosts` lines: `ADDRESS  NAME [ALIAS...]`; the addresses."""
    return [ln.split()[0] for ln in text.splitlines() if ln.strip()]
