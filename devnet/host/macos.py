"""The developer's machine on macOS: the same functions as devnet.host.linux, with macOS's
commands. Routes come from `netstat -nr` and `route -n get`, parsed into the shape `ip -j
route` gives on Linux ({"dst", "gateway", "dev"}), so the route step, the overlap check and
the VPN diagnosis run on either; the resolver is /etc/resolver/<domain>, read back through
`scutil --dns`; ipfw and pf for vpn.fix (devnet.host.macos_firewall).

`netstat -nr` shortens destinations the classful way: `172.17` is 172.17.0.0/16, `10` is
10.0.0.0/8, `172.16/12` says its prefix.
"""

from __future__ import annotations

import ipaddress
import re

from devnet.host.macos_firewall import (  # noqa: F401  (part of this adapter's interface)
    add_exception,
    describe_exception,
    firewall_problems,
    remove_exception,
)
from devnet.host.routes import conflicts, describe, destination  # noqa: F401  (interface)
from devnet.host.sudo import run_as_root
from devnet.system import cmd

# -- the tunnel's link (tunnel.link) --------------------------------------------------------

def set_tunnel_address(c, iface: str, host_cidr: str, peer_ip) -> None:
    """A utun is point to point: its address and the peer's (the VM end's), then the host-only
    network routed out of it, as wg-quick's darwin.bash adds an interface route per network."""
    host_ip = host_cidr.partition("/")[0]
    network = ipaddress.ip_network(host_cidr, strict=False)
    run_as_root(c, cmd("ifconfig", iface, "inet", host_ip, str(peer_ip), "netmask",
                       "255.255.255.255", "up"), hide=True)
    replace_route(c, str(network), dev=iface)


def has_tunnel_address(c, iface: str, host_cidr: str) -> bool:
    """ifconfig(8) prints a point-to-point address as `inet 172.16.0.1 --> 172.16.0.11`."""
    out = c.run(cmd("ifconfig", iface), hide=True, warn=True)
    host_ip = host_cidr.partition("/")[0]
    return out.ok and re.search(rf"\binet {re.escape(host_ip)} --> ", out.stdout) is not None


# -- routes ----------------------------------------------------------------------------------


def _destination(text: str) -> str | None:
    if text == "default":
        return "default"
    base, _, prefix = text.partition("/")
    parts = base.split(".")
    if not all(p.isdigit() for p in parts) or len(parts) > 4:
        return None  # IPv6, link-local names
    addr = ".".join(parts + ["0"] * (4 - len(parts)))
    length = int(prefix) if prefix else 8 * len(parts)
    try:
        return str(ipaddress.ip_network(f"{addr}/{length}", strict=False))
    except ValueError:
        return None


def parse_netstat_nr(text: str) -> list[dict]:
    """The IPv4 table of `netstat -nr`, routes only: the neighbour (ARP) cache it mixes in
    (flag L) and the host routes macOS clones inside a connected network (its own address,
    the router's: `192.168.1.1/32 link#6`) are that network's route, as on Linux, where
    they stay out of the main table. Older macOS prints Refs and Use columns before Netif,
    newer ones do not: the header says where Netif is."""
    rows, in_v4, netif = [], False, 3
    for line in text.splitlines():
        if line.startswith("Internet:"):
            in_v4 = True
            continue
        if line.startswith("Internet6:"):
            break
        cols = line.split()
        if cols[:1] == ["Destination"]:
            netif = cols.index("Netif") if "Netif" in cols else netif
            continue
        if not in_v4 or len(cols) <= netif or "L" in cols[2]:
            continue
        dst = _destination(cols[0])
        if dst is not None:
            rows.append((dst, cols[1], cols[2], cols[netif]))
    on_link = [(ipaddress.ip_network(d), dev) for d, gw, _, dev in rows
               if gw.startswith("link#") and d != "default"]
    routes = []
    for dst, gw, flags, dev in rows:
        if gw.startswith("link#") and dst.endswith("/32") and any(
                ipaddress.ip_network(dst).subnet_of(n) and n.prefixlen < 32 and d == dev
                for n, d in on_link):
            continue
        route = {"dst": dst, "dev": dev, "flags": flags}
        if re.match(r"^\d+\.\d+\.\d+\.\d+$", gw):
            route["gateway"] = gw
        routes.append(route)
    return routes


def parse_route_get(text: str) -> dict:
    """`route -n get ADDRESS`: which route the kernel picks (a host route has no mask)."""
    fields = dict(re.findall(r"^\s*([a-z ]+):\s*(\S+)", text, re.M))
    route = {"dev": fields.get("interface")}
    if "gateway" in fields:
        route["gateway"] = fields["gateway"]
    if fields.get("destination") == "default":
        route["dst"] = "default"
    elif "destination" in fields:
        mask = fields.get("mask", "255.255.255.255")
        route["dst"] = str(ipaddress.ip_network(f"{fields['destination']}/{mask}",
                                                strict=False))
    return route


def _full_names(table: list[dict], names: list[str]) -> list[dict]:
    """netstat cuts interface names to its column (the walk-through's `vboxnet` is
    vboxnet0): put back the one interface whose name starts so."""
    for r in table:
        if r["dev"] not in names:
            longer = [n for n in names if n.startswith(r["dev"])]
            r["dev"] = longer[0] if len(longer) == 1 else r["dev"]
    return table


def routes(c) -> list[dict]:
    table = parse_netstat_nr(c.run("netstat -nr -f inet", hide=True).stdout)
    return _full_names(table, c.run("ifconfig -l", hide=True, warn=True).stdout.split())


def route_to(c, dst) -> dict | None:
    net = ipaddress.ip_network(str(dst))
    return next((r for r in routes(c) if destination(r) == net), None)


def add_route(c, dst, via) -> None:
    run_as_root(c, cmd("route", "-n", "add", "-net", dst, via), hide=True)


def delete_route(c, dst, via) -> bool:
    route = route_to(c, dst)
    if not route or route.get("gateway") != str(via):
        return False
    run_as_root(c, cmd("route", "-n", "delete", "-net", dst, via), hide=True)
    return True


def replace_route(c, dst, via=None, dev=None, src=None, warn=False):
    """Route `dst` via `via` (or out of `dev`), whatever routed it before: `route change`
    when a route is there, `route add` when not. `src` is Linux's; macOS needs none."""
    target = [via] if via else ["-interface", dev]
    out = run_as_root(c, cmd("route", "-n", "change", "-net", dst, *target), hide=True,
                      warn=True)
    if out.ok:
        return out
    return run_as_root(c, cmd("route", "-n", "add", "-net", dst, *target), hide=True, warn=warn)


def route_get(c, address) -> dict:
    out = c.run(cmd("route", "-n", "get", address), hide=True, warn=True)
    return parse_route_get(out.stdout) if out.ok else {}


def monitor_argv() -> list[str]:
    """A command that prints a line whenever routes, links or addresses change."""
    return ["route", "-n", "monitor"]


# -- resolver --------------------------------------------------------------------------------

def parse_scutil_dns(text: str) -> list[dict]:
    """The resolvers of `scutil --dns` (not its per-interface "scoped" copies), in order:
    {"domain" (None: the default), "nameservers", "port", "search", "interface"}."""
    found, current = [], None
    for line in text.splitlines():
        if line.startswith("DNS configuration (for scoped queries)"):
            break
        if line.startswith("resolver #"):
            current = {"domain": None, "nameservers": [], "port": 53, "search": [],
                       "interface": None}
            found.append(current)
            continue
        key, sep, value = (s.strip() for s in line.partition(" : "))
        if current is None or not sep:
            continue
        if key == "domain":
            current["domain"] = value.rstrip(".").lower()
        elif key.startswith("nameserver["):
            current["nameservers"].append(value)
        elif key.startswith("search domain["):
            current["search"].append(value)
        elif key == "port":
            current["port"] = int(value)
        elif key == "if_index" and (m := re.search(r"\((\S+)\)", value)):
            current["interface"] = m.group(1)
    return found


def resolvers(c) -> list[dict]:
    return parse_scutil_dns(c.run("scutil --dns", hide=True, warn=True).stdout)


def resolver_method(c) -> str:
    return "resolverdir"  # /etc/resolver/<domain>: split DNS, the system's own way


def flush_dns(c) -> None:
    """Forget cached answers; mDNSResponder reloads /etc/resolver on HUP."""
    c.run("dscacheutil -flushcache", hide=True, warn=True)
    run_as_root(c, "killall -HUP mDNSResponder", hide=True, warn=True)


# -- probes (doctor, vm.hostonly's check) ----------------------------------------------------

def ping_argv(address: str, seconds: int = 1) -> list[str]:
    """One echo request. macOS ping's -W is the wait for a reply in milliseconds (BSD
    ping(8): "-W waittime ... in milliseconds"), not seconds as on Linux: -W1 waits 1 ms."""
    return ["ping", "-c1", f"-W{seconds * 1000}", address]


def lookup_argv(name: str) -> list[str]:
    """macOS has no getent: dscacheutil asks the same resolver as every program (Directory
    Service, so /etc/resolver/<domain> and mDNSResponder), as getent does through NSS."""
    return ["dscacheutil", "-q", "host", "-a", "name", name]


def parse_lookup(text: str) -> list[str]:
    """`dscacheutil -q host` blocks of `key: value` lines; the ip_address and ipv6_address
    values (nothing printed: not found)."""
    found = []
    for ln in text.splitlines():
        key, _, value = ln.partition(":")
        if key.strip() in ("ip_address", "ipv6_address") and value.strip():
            found.append(value.strip())
    return found
