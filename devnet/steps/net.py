"""The host side: a route for each Docker subnet via the VM's host-only address, and the
check that none of devnet's networks collides with a route the host already has."""

from __future__ import annotations

import ipaddress

from devnet.errors import ConfigError, DevnetError
from devnet.host.routes import conflicts, describe, destination
from devnet.steps import native_reach
from devnet.steps.base import Step
from devnet.subnets import suggest_free


def check_overlaps(settings, table: list[dict], via: str | None = "", no_vm: bool = False):
    """Refuse Docker subnets or a host-only network that collide with the host's routes.

    Allowed: devnet's own route (subnet via the VM's address `via`) and the host-only
    network's own route (the adapter's connected route). With no VM (provider local) the
    subnet's own bridge route is Docker's, and there is no host-only network.
    """
    ho, via = settings.hostonly.network, None if no_vm else (via or settings.vm_ip)
    problems = []
    for sub in settings.docker_subnets:
        for r in conflicts(table, sub):
            if destination(r) == sub and r.get("gateway") == via:
                continue
            problems.append(f"Docker subnet {sub} overlaps the host's route {describe(r)}")
    for r in conflicts(table, ho, allowed=[ho]) if not no_vm else ():
        problems.append(f"host-only network {ho} overlaps the host's route {describe(r)}")
    if problems:
        dsts = [destination(r) for r in table]
        taken = [d for d in dsts if d and d.prefixlen] + [ho, *settings.docker_subnets]
        raise ConfigError(
            "subnets collide with the host's routes:\n  - " + "\n  - ".join(problems),
            f"pick a free range, e.g. {suggest_free(taken)}, for devnet.docker.subnets "
            "(or devnet.hostonly.network) in invoke.yaml",
        )


class NetRoute(Step):
    name = "net.route"
    up_order = 50  # the route before the DNS: dns.start proves the host gets answers
    on_host = True
    summary = "route the Docker subnets via the VM's host-only address (route -n add)"

    def _missing(self):
        via = self.dn.gateway
        if not self.dn.provider.host_exists():
            return list(self.dn.settings.docker_subnets)
        return [
            s for s in self.dn.settings.docker_subnets
            if (self.dn.os.route_to(self.dn.host, s) or {}).get("gateway") != via
        ]

    def check(self):
        if not self.dn.provider.has_vm:
            return "no VM: Docker's bridges are on this machine, no route needed"
        if self.dn.provider.routes_itself():  # the engine's own route (OrbStack's)
            return native_reach.check(self.dn)
        if self._missing():
            return None
        subs = ", ".join(map(str, self.dn.settings.docker_subnets))
        return f"route {subs} via {self.dn.gateway} present"

    def plan(self):
        return [f"route add {s} via {self.dn.gateway} (host)" for s in self._missing()]

    def apply(self):
        host, via = self.dn.host, self.dn.gateway
        check_overlaps(self.dn.settings, self.dn.os.routes(host), via)
        added = []
        for s in self._missing():
            self.dn.journal.record(self.name, dst=str(s), via=via)
            self.dn.os.add_route(host, s, via)
            added.append(str(s))
        return f"added route {', '.join(added)} via {via}"

    def verify(self):
        via = self.dn.gateway
        for s in self.dn.settings.docker_subnets:
            probe = str(next(ipaddress.ip_network(s).hosts()))
            chosen = self.dn.os.route_get(self.dn.host, probe)
            if chosen.get("gateway") != via:
                raise DevnetError(
                    f"the host sends {probe} via {chosen.get('gateway') or chosen.get('dev')}, "
                    f"not via {via}: a more specific route wins",
                    "ip route get " + probe + "   (then invoke vpn.fix, or remove that route)",
                )

    def describe_undo(self, args):
        return f"ip route del {args['dst']} via {args['via']} (host)"

    def undo(self, args):
        if self.dn.os.delete_route(self.dn.host, args["dst"], args["via"]):
            return f"removed route {args['dst']} via {args['via']}"
        return f"route {args['dst']} via {args['via']} was gone"
