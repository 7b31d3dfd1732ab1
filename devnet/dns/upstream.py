"""Forward names outside devnet's zones to the upstream servers; SERVFAIL within the budget."""

from __future__ import annotations

import time

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode

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

    def resolve(self, query: dns.message.Message) -> dns.message.Message:
        deadline = time.monotonic() + self.budget
        for i, (host, port) in enumerate(self.servers):
            # Split what is left among the servers not yet tried.
            left = (deadline - time.monotonic()) / (len(self.servers) - i)
            if left <= 0.01:
                break
            try:
                resp = dns.query.udp(query, host, timeout=left, port=port)
                if resp.flags & dns.flags.TC:
                    left = max(deadline - time.monotonic(), 0.01)
                    resp = dns.query.tcp(query, host, timeout=left, port=port)
                return resp
            except (dns.exception.DNSException, OSError) as err:
                self.last_error = f"{host}:{port}: {type(err).__name__} {err}".strip()
                continue
        resp = dns.message.make_response(query)
        resp.set_rcode(dns.rcode.SERVFAIL)
        return resp
