"""The upstream servers names outside devnet's zones go to, and the time they get (the
forwarder, devnet/dns/forwarder.py, asks them)."""

from __future__ import annotations

BUDGET = 1.8  # seconds for all upstreams together: the client sees SERVFAIL within 2 s


def parse_servers(specs) -> list[tuple[str, int]]:
    """`["192.0.2.53", "8.8.8.8:53"]` -> [("192.0.2.53", 53), ("8.8.8.8", 53)]."""
    servers = []
    for spec in specs:
        host, _, port = str(spec).partition(":")
        servers.append((host, int(port or 53)))
    return servers


class Upstream:
    def __init__(self, servers, budget: float = BUDGET):
        self.servers = parse_servers(servers)
        self.budget = budget
        self.last_error = ""
