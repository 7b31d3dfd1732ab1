"""macOS routes through `netstat -nr` and `route -n`, parsed into the same shape as `ip -j
route` gives on Linux ({"dst", "gateway", "dev"}): the same functions as devnet.host.linux,
so the route step, the overlap check and the VPN diagnosis run on either.

`netstat -nr` shortens destinations the classful way: `172.17` is 172.17.0.0/16, `10` is
10.0.0.0/8, `172.16/12` says its prefix.
"""

from __future__ import annotations

import ipaddress
import re

from devnet.host.linux import destination
from devnet.system import cmd


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
    """The IPv4 table of `netstat -nr`."""
    routes, in_v4 = [], False
    for line in text.splitlines():
        if line.startswith("Internet:"):
            in_v4 = True
            continue
        if line.startswith("Internet6:"):
            break
        cols = line.split()
        if not in_v4 or len(cols) < 4 or cols[0] == "Destination":
            continue
        dst = _destination(cols[0])
        if dst is None:
            continue
        route = {"dst": dst, "dev": cols[3] if not cols[3].isdigit() else cols[-1],
                 "flags": cols[2]}
        if re.match(r"^\d+\.\d+\.\d+\.\d+$", cols[1]):
            route["gateway"] = cols[1]
        routes.append(route)
    return routes


def parse_route_get(text: str) -> dict:
    """`route -n get ADDRESS`: which route the kernel picks."""
    fields = dict(re.findall(r"^\s*([a-z ]+):\s*(\S+)", text, re.M))
    route = {"dev": fields.get("interface")}
    if "gateway" in fields:
        route["gateway"] = fields["gateway"]
    if "destination" in fields:
        mask = fields.get("mask", "255.255.255.255")
        route["dst"] = str(ipaddress.ip_network(f"{fields['destination']}/{mask}",
                                                strict=False))
    return route


def routes(c) -> list[dict]:
    return parse_netstat_nr(c.run("netstat -nr -f inet", hide=True).stdout)


def route_to(c, dst) -> dict | None:
    net = ipaddress.ip_network(str(dst))
    return next((r for r in routes(c) if destination(r) == net), None)


def add_route(c, dst, via) -> None:
    c.run(cmd("route", "-n", "add", "-net", dst, via), hide=True)


def delete_route(c, dst, via) -> bool:
    route = route_to(c, dst)
    if not route or route.get("gateway") != str(via):
        return False
    c.run(cmd("route", "-n", "delete", "-net", dst, via), hide=True)
    return True


def route_get(c, address) -> dict:
    out = c.run(cmd("route", "-n", "get", address), hide=True, warn=True)
    return parse_route_get(out.stdout) if out.ok else {}
