"""vpn.fix's routes, judged the way the kernel routes devnet's traffic.

- The main table: a Docker subnet's route the VPN took over is pointed back at the VM (it is
  devnet's own route, put there by net.route; what the VPN had put in its place is journaled
  and put back by vpn.restore); the host-only network's own route is put back. A VPN route
  *more specific* than one of devnet's networks is a real overlap: refused, naming both sides.
- Policy routing (Linux): the kernel's answer (`ip route get`) for one address of each of
  devnet's networks, sent as an application sends it and from the host-only address. Where a
  VPN's `ip rule` sends it to a table of its own (Tailscale's 52, strongSwan's 220, a full
  tunnel's table without `suppress_prefixlength 0`), the repair is a rule of devnet's own one
  priority before that rule, `to <network> lookup main`: the least that works. It adds
  nothing to the VPN's table (whose client flushes or renumbers it: wg-quick picks a free
  table number by looking for an empty one), deletes nothing of the VPN's, copies no route
  (main already holds devnet's routes, kept by net.route and net.watch), and only devnet's
  destinations take it: everything else still goes where the VPN sends it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from devnet.errors import ConfigError
from devnet.host.routes import describe, destination, table_of
from devnet.subnets import suggest_free


@dataclass
class Problem:
    kind: str  # route|hostonly|policy|resolver|unexplained|deferred, or iptables|nft|ipfw|pf
    text: str
    data: dict


def _overlap(route: dict, net, taken) -> ConfigError:
    return ConfigError(
        f"the VPN routes {describe(route)}, inside devnet's network {net}: the same "
        "addresses on both sides, which no route can settle",
        f"move the Docker subnet to a free range, e.g. {suggest_free(taken)} "
        "(devnet.docker.subnets and devnet.docker.bip), then invoke up",
    )


def main_table_problems(dn, nets) -> list[Problem]:
    host, via, link = dn.host, dn.gateway, dn.provider.hostonly_link()
    table = dn.os.routes(host)
    found = []
    ho = dn.settings.hostonly
    own = next((r for r in table if destination(r) == ho.network), None)
    if not own or own.get("dev") != link or own.get("gateway"):
        found.append(Problem("hostonly", f"route: host-only {ho.network} is "
                             f"{describe(own) if own else 'gone'}", {"was": own}))
    for sub in [n for n in nets if n != ho.network]:
        narrower = [r for r in table if destination(r) and destination(r) != sub
                    and destination(r).subnet_of(sub) and r.get("gateway") != via]
        if narrower:
            raise _overlap(narrower[0], sub, [destination(r) for r in table
                                              if destination(r)])
        route = next((r for r in table if destination(r) == sub), None)
        if route and route.get("gateway") == via:
            continue
        found.append(Problem("route", f"route: {sub} is "
                             f"{describe(route) if route else 'gone'}",
                             {"dst": str(sub), "was": route}))
    return found


def host_routes(dn) -> list[dict]:
    """Every route the host may send by: all tables but `local` (the host's own addresses),
    so a VPN's own table counts (Linux); macOS has the one table. Throw routes route
    nothing."""
    table = dn.os.all_routes(dn.host) if getattr(dn.os, "POLICY_ROUTING", False) \
        else dn.os.routes(dn.host)
    return [r for r in table if table_of(r) != "local" and r.get("type") != "throw"]


def _probe(dn, net) -> str:
    """An address of `net` devnet's traffic goes to: the VM's host-only address, else the
    network's first address."""
    ho = dn.settings.hostonly
    return ho.vm_ip if net == ho.network else str(next(ipaddress.ip_network(net).hosts()))


def _right(dn, net, answer: dict) -> bool:
    if net == dn.settings.hostonly.network:
        return answer.get("dev") == dn.provider.hostonly_link() and not answer.get("gateway")
    return answer.get("gateway") == dn.gateway


def _refuse_overlaps_in_vpn_tables(rule_list, routes, nets, via) -> None:
    """A VPN table a rule leads to, holding a route inside one of devnet's networks: devnet's
    rule would take those addresses from the VPN. Same refusal as in the main table."""
    tables = {r["table"] for r in rule_list if r.get("table") not in (None, "main", "local")}
    for r in routes:
        if table_of(r) not in tables or r.get("type", "unicast") == "throw" \
                or r.get("gateway") == via:
            continue
        dst = destination(r)
        for net in nets:
            if dst and dst != net and dst.version == net.version and dst.subnet_of(net):
                raise _overlap(r, net, [destination(x) for x in routes
                                            if destination(x)])


def policy_problems(dn, nets) -> list[Problem]:
    """Where the kernel, by a rule, takes devnet's traffic to another table."""
    if not getattr(dn.os, "POLICY_ROUTING", False):
        return []  # macOS: one routing table, already judged
    host, ho = dn.host, dn.settings.hostonly
    wrong = []
    for net in nets:
        probe = _probe(dn, net)
        for src in (None, ho.host_ip):
            answer = dn.os.kernel_route(host, probe, src)
            if src and "error" in answer:
                continue  # the host-only address is not (yet) this host's: nothing to judge
            if not _right(dn, net, answer):
                wrong.append((net, probe, src, answer))
                break
    if not wrong:
        return []
    rule_list, routes = dn.os.rules(host), dn.os.all_routes(host)
    _refuse_overlaps_in_vpn_tables(rule_list, routes, nets, dn.gateway)
    found, before = [], {}
    for net, probe, src, answer in wrong:
        rule, route = dn.os.choose(rule_list, routes, probe, src)
        sent = f"{probe}{f' from {src}' if src else ''}"
        table = rule.get("table") if rule else None
        if rule is None or rule.get("priority", 0) == 0 or table == "main" \
                or not dn.os.same(route, answer, table):
            found.append(Problem("policy", f"route: the kernel sends {sent} "
                                 f"{answer.get('error') or describe(answer)}, and devnet "
                                 "cannot tell which rule does", {"dst": str(net)}))
            continue
        prio = before.get(rule["priority"]) \
            or dn.os.free_priority_below(rule_list, rule["priority"])
        before[rule["priority"]] = prio
        where = f"to {describe(dict(route, table=table))}" if table \
            else f"nowhere ({rule['action']})"
        by = dn.os.describe_rule(rule)
        found.append(Problem("policy", f"route: rule `{by}` sends {sent} {where}",
                             {"dst": str(net), "priority": prio, "by": by}))
    return found
