"""Routes on a Linux host through `ip -j` (JSON), run on any Invoke-style Context `c`."""

from __future__ import annotations

import ipaddress
import json

from devnet.errors import DevnetError
from devnet.system import cmd


def _json(c, *argv) -> list[dict]:
    out = c.run(cmd(*argv), hide=True, warn=True)
    if not out.ok:
        raise DevnetError(f"`{cmd(*argv)}` failed: {out.stderr.strip() or out.stdout.strip()}")
    text = out.stdout.strip()
    return json.loads(text) if text else []


def routes(c) -> list[dict]:
    """The main routing table, as `ip -j route` gives it."""
    return _json(c, "ip", "-j", "route", "show", "table", "main")


def destination(route: dict) -> ipaddress.IPv4Network | None:
    dst = route.get("dst", "")
    if dst == "default":
        return ipaddress.ip_network("0.0.0.0/0")
    try:
        return ipaddress.ip_network(dst, strict=False)
    except ValueError:
        return None


def route_to(c, dst) -> dict | None:
    """The route whose destination is exactly `dst`, if any."""
    net = ipaddress.ip_network(str(dst))
    return next((r for r in routes(c) if destination(r) == net), None)


def conflicts(table: list[dict], subnet, allowed=()) -> list[dict]:
    """Routes (not default, not in `allowed`) whose destination overlaps `subnet`."""
    subnet = ipaddress.ip_network(str(subnet))
    allowed = {ipaddress.ip_network(str(a)) for a in allowed}
    found = []
    for r in table:
        dst = destination(r)
        if dst is None or dst.prefixlen == 0 or dst in allowed:
            continue
        if dst.overlaps(subnet):
            found.append(r)
    return found


def describe(route: dict) -> str:
    parts = [route.get("dst", "?")]
    if route.get("gateway"):
        parts.append(f"via {route['gateway']}")
    if route.get("dev"):
        parts.append(f"dev {route['dev']}")
    return " ".join(parts)


def add_route(c, dst, via) -> None:
    c.run(cmd("ip", "route", "add", dst, "via", via), hide=True)


def delete_route(c, dst, via) -> bool:
    """Remove the route if it is there with this gateway; False when it was not."""
    route = route_to(c, dst)
    if not route or route.get("gateway") != str(via):
        return False
    c.run(cmd("ip", "route", "del", dst, "via", via), hide=True)
    return True


def route_get(c, address) -> dict:
    """Which route the kernel picks for `address` (`ip route get`)."""
    found = _json(c, "ip", "-j", "route", "get", address)
    return found[0] if found else {}
