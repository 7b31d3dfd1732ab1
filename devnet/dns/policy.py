"""Who may recurse through devnet's DNS: the host-only network, every Docker network in the VM,
and loopback; anyone else gets the containers' zone and REFUSED for other names.

The configured networks (host-only, `devnet.docker.subnets`) are fixed at start. Docker's own
networks come and go: a compose project makes 172.18.0.0/16, the next one 172.19.0.0/16, and
their containers ask devnet through Docker's embedded DNS *from their own address*. The
registrar lists the networks at every resync and on each network create/destroy event and
hands the subnets here (`set_docker`), so a new project's containers may recurse from their
first query on, and a removed network's range stops being trusted.

Only bridge networks count: a container reaches the VM's bridge address (where devnet listens)
through a bridge; overlay containers do so through docker_gwbridge (itself a bridge network),
and macvlan/ipvlan containers cannot reach their host's addresses at all, while their subnet
is the LAN's, which must not become an open resolver.
"""

from __future__ import annotations

import ipaddress
import threading


def bridge_subnets(networks: list[dict]) -> list[str]:
    """The subnets of Docker's bridge networks, from `docker network inspect` dicts."""
    found = []
    for net in networks:
        if net.get("Driver") != "bridge":
            continue
        for cfg in (net.get("IPAM") or {}).get("Config") or []:
            sub = cfg.get("Subnet")
            if sub and sub not in found:
                found.append(sub)
    return found


class RecursionPolicy:
    def __init__(self, configured):
        self.configured = tuple(ipaddress.ip_network(str(n), strict=False) for n in configured)
        self.docker: tuple = ()
        # ip -> may recurse. The server's UDP loop reads this dict directly (one lookup per
        # packet), so it is only ever cleared in place, never replaced.
        self.memo: dict[str, bool] = {}
        self.generation = 0
        self._lock = threading.Lock()

    @property
    def networks(self) -> list[str]:
        """Who may recurse, once each (docker0's subnet is configured and Docker's too)."""
        return list(dict.fromkeys(str(n) for n in self.configured + self.docker))

    def allows(self, ip: str) -> bool:
        ok = self.memo.get(ip)
        if ok is not None:
            return ok
        gen, nets = self.generation, self.configured + self.docker
        addr = ipaddress.ip_address(ip)
        ok = addr.is_loopback or any(addr in n for n in nets)
        with self._lock:
            if gen == self.generation:  # not judged on networks that changed meanwhile
                if len(self.memo) > 4096:
                    self.memo.clear()
                self.memo[ip] = ok
        return ok

    def set_docker(self, subnets) -> bool:
        """Docker's networks now; True when that changed who may recurse."""
        nets = tuple(sorted({ipaddress.ip_network(str(s), strict=False) for s in subnets},
                            key=lambda n: (n.version, n)))
        with self._lock:
            if nets == self.docker:
                return False
            self.docker = nets
            self.generation += 1
            self.memo.clear()
        return True
