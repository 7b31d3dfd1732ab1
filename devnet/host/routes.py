"""Routes as data, whichever OS listed them: the shape `ip -j route` gives
({"dst", "gateway", "dev", "table"}; macOS's netstat is parsed into it), so the overlap check,
the VPN diagnosis and every message read routes the same way on Linux and macOS."""

from __future__ import annotations

import ipaddress


def destination(route: dict) -> ipaddress.IPv4Network | None:
    dst = route.get("dst", "")
    if dst == "default":
        return ipaddress.ip_network("0.0.0.0/0")
    try:
        return ipaddress.ip_network(dst, strict=False)
    except ValueError:
        return None


def conflicts(table: list[dict], subnet, allowed=()) -> list[dict]:
    """Routes (not default, not in `allowed`) whose destination overlaps `subnet`. A full
    tunnel's 0.0.0.0/1 + 128.0.0.0/1 pair is a default route in two halves: no conflict."""
    subnet = ipaddress.ip_network(str(subnet))
    allowed = {ipaddress.ip_network(str(a)) for a in allowed}
    found = []
    for r in table:
        dst = destination(r)
        if dst is None or dst.prefixlen <= 1 or dst in allowed:
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
    if route.get("table") not in (None, "main"):
        parts.append(f"table {route['table']}")  # a VPN's own table (policy routing)
    return " ".join(parts)


def table_of(route: dict) -> str:
    return route.get("table", "main")
