"""vpn.fix: find what a VPN client broke and repair the least that works.

- firewall: rules that provably block devnet's networks are deleted (each journaled with its
  chain and position, so `vpn.restore` and `down` put it back exactly);
- routes: a route to a Docker subnet the VPN took over is pointed back at the VM, the
  host-only network's own route is put back; a VPN route *more specific* than a Docker subnet
  is a real overlap: refused, naming both sides and a free range;
- resolver: devnet's DNS first again.
"""

from __future__ import annotations

import ipaddress
import shlex
from dataclasses import dataclass

from devnet.config import suggest_free
from devnet.errors import ConfigError, DevnetError
from devnet.host import linux
from devnet.host.resolver import DnsResolver
from devnet.steps import Step
from devnet.system import cmd
from devnet.vpn import firewall


@dataclass
class Problem:
    kind: str  # firewall | route | resolver
    text: str
    data: dict


def networks(dn) -> list:
    """devnet's networks: the host-only one, the Docker subnets, and watched Docker networks."""
    nets = [dn.settings.hostonly.network, *dn.settings.docker_subnets]
    nets += [ipaddress.ip_network(e["args"]["dst"]) for e in dn.journal.entries()
             if e["step"] == "net.network"]
    return nets


def firewall_problems(dn) -> list[Problem]:
    out = dn.host.run("iptables-save -t filter", hide=True, warn=True)
    if out.failed:
        return []
    link = dn.provider.hostonly_link()
    return [Problem("firewall", f"firewall: `-A {r.chain} {r.spec}` blocks devnet",
                    {"table": r.table, "chain": r.chain, "spec": r.spec, "position": r.position})
            for r in firewall.blocking(firewall.parse_iptables_save(out.stdout),
                                       networks(dn), link)]


def nft_problems(dn) -> list[Problem]:
    """Native nftables rules (tables iptables does not manage) that block devnet."""
    out = dn.host.run("nft -a list ruleset", hide=True, warn=True)
    if out.failed:
        return []  # no nft on this host
    rules = [r for r in firewall.parse_nft(out.stdout)
             if r.table not in firewall.IPTABLES_NFT_TABLES]
    found = []
    for r in firewall.blocking(rules, networks(dn), dn.provider.hostonly_link()):
        before = [x.handle for x in rules if x.table == r.table and x.chain == r.chain
                  and x.position == r.position - 1]
        found.append(Problem("nft", f"nftables: `{r.spec}` in {r.table} {r.chain} blocks devnet",
                             {"table": r.table, "chain": r.chain, "handle": r.handle,
                              "spec": r.spec, "after": before[0] if before else None}))
    return found


def route_problems(dn) -> list[Problem]:
    host, via, link = dn.host, dn.settings.vm_ip, dn.provider.hostonly_link()
    table = dn.routes.routes(host)
    found = []
    ho = dn.settings.hostonly
    own = next((r for r in table if linux.destination(r) == ho.network), None)
    if not own or own.get("dev") != link or own.get("gateway"):
        found.append(Problem("hostonly", f"route: host-only {ho.network} is "
                             f"{linux.describe(own) if own else 'gone'}", {"was": own}))
    subnets = [n for n in networks(dn) if n != ho.network]
    for sub in subnets:
        narrower = [r for r in table if linux.destination(r) and linux.destination(r) != sub
                    and linux.destination(r).subnet_of(sub) and r.get("gateway") != via]
        if narrower:
            taken = [linux.destination(r) for r in table if linux.destination(r)]
            raise ConfigError(
                f"the VPN routes {linux.describe(narrower[0])}, inside the Docker subnet "
                f"{sub}: the same addresses on both sides, which no route can settle",
                f"move the Docker subnet to a free range, e.g. {suggest_free(taken)} "
                "(devnet.docker.subnets and devnet.docker.bip), then invoke up",
            )
        route = next((r for r in table if linux.destination(r) == sub), None)
        if route and route.get("gateway") == via:
            continue
        found.append(Problem("route", f"route: {sub} is "
                             f"{linux.describe(route) if route else 'gone'}",
                             {"dst": str(sub), "was": route}))
    return found


class VpnFix(Step):
    name = "vpn.fix"
    on_host = True
    summary = "find and repair what a VPN client broke: firewall rules, routes, resolver"

    def diagnose(self) -> list[Problem]:
        problems = firewall_problems(self.dn) + nft_problems(self.dn) + route_problems(self.dn)
        resolver = DnsResolver(self.dn)
        if self.dn.journal.has_step(resolver.name) and resolver.check() is None:
            problems.append(Problem("resolver", "resolver: devnet's DNS is not asked first", {}))
        return problems

    _found: list[Problem] | None = None  # what check() saw, repaired by apply()

    def check(self):
        self._found = self.diagnose()
        return None if self._found else "nothing blocks devnet (firewall, routes, resolver)"

    def plan(self):
        return [p.text for p in (self._found if self._found is not None else self.diagnose())]

    def apply(self):
        said = []
        found, self._found = (self._found if self._found is not None else self.diagnose()), None
        for p in found:
            said.append(getattr(self, f"_fix_{p.kind}")(p))
        return "; ".join(said)

    def _fix_firewall(self, p: Problem) -> str:
        d = p.data
        self.dn.journal.record(self.name, kind="firewall", **d)
        self.dn.host.run(f"iptables -t {d['table']} -D {shlex.quote(d['chain'])} {d['spec']}",
                         hide=True)
        return f"removed `-A {d['chain']} {d['spec']}`"

    def _fix_nft(self, p: Problem) -> str:
        d = p.data
        self.dn.journal.record(self.name, kind="nft", table=d["table"], chain=d["chain"],
                               spec=d["spec"], after=d["after"])
        self.dn.host.run(cmd("nft", "delete", "rule", *d["table"].split(), d["chain"],
                             "handle", d["handle"]), hide=True)
        return f"removed nftables rule `{d['spec']}` ({d['table']} {d['chain']})"

    def _fix_route(self, p: Problem) -> str:
        dst, via = p.data["dst"], self.dn.settings.vm_ip
        if p.data["was"]:
            self.dn.journal.record(self.name, kind="route", dst=dst, was=p.data["was"])
        self.dn.host.run(cmd("ip", "route", "replace", dst, "via", via), hide=True)
        return f"route {dst} via {via} again"

    def _fix_hostonly(self, p: Problem) -> str:
        ho, link = self.dn.settings.hostonly, self.dn.provider.hostonly_link()
        if p.data["was"]:
            self.dn.journal.record(self.name, kind="hostonly", was=p.data["was"])
        self.dn.host.run(cmd("ip", "route", "replace", ho.network, "dev", link, "proto",
                             "kernel", "scope", "link", "src", ho.host_ip), hide=True)
        return f"route {ho.network} dev {link} again"

    def _fix_resolver(self, p: Problem) -> str:
        return "resolver: " + DnsResolver(self.dn).apply()

    def verify(self):
        left = self.diagnose()
        if left:
            raise DevnetError("still broken after the repair: " + "; ".join(p.text for p in left),
                              "invoke vpn.fix --dry-run   (and see what changed it again)")

    def _put_back_nft(self, args) -> str:
        host, table = self.dn.host, args["table"].split()
        listing = host.run(cmd("nft", "-a", "list", "chain", *table, args["chain"]), hide=True,
                           warn=True)
        if listing.failed:
            return f"nftables {args['table']} {args['chain']} is gone: nothing to put back"
        handles = {r.handle for r in firewall.parse_nft(listing.stdout)}
        if args["after"] in handles:
            where = ["add", "rule", *table, args["chain"], "position", args["after"]]
        else:
            where = ["insert", "rule", *table, args["chain"]]
        host.run(cmd("nft", *where, args["spec"]), hide=True)
        return f"put back nftables rule `{args['spec']}` in {args['table']} {args['chain']}"

    def describe_undo(self, args):
        if args["kind"] == "nft":
            return f"put back nftables rule `{args['spec']}` in {args['table']} {args['chain']}"
        if args["kind"] == "firewall":
            return f"put back `-A {args['chain']} {args['spec']}` at {args['position']}"
        return f"put back the VPN's route {linux.describe(args['was'])}"

    def undo(self, args):
        host = self.dn.host
        kind = args["kind"]
        if kind == "firewall":
            chain = shlex.quote(args["chain"])
            if host.run(f"iptables -t {args['table']} -n -L {chain}", hide=True, warn=True).failed:
                return f"chain {args['chain']} is gone (the VPN disconnected): nothing to put back"
            length = len(host.run(f"iptables -t {args['table']} -S {chain}", hide=True)
                         .stdout.splitlines()) - 1  # the -N/-P line
            pos = min(args["position"], length + 1)
            host.run(f"iptables -t {args['table']} -I {chain} {pos} {args['spec']}", hide=True)
            return f"put back `-A {args['chain']} {args['spec']}` at {pos}"
        if kind == "nft":
            return self._put_back_nft(args)
        was = args["was"]
        argv = ["ip", "route", "replace", was["dst"]]
        if was.get("gateway"):
            argv += ["via", was["gateway"]]
        if was.get("dev"):
            argv += ["dev", was["dev"]]
        out = host.run(cmd(*argv), hide=True, warn=True)
        if out.failed:
            return f"route {was['dst']} could not be put back ({out.stderr.strip()})"
        return f"put back route {linux.describe(was)}"
