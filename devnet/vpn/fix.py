"""vpn.fix: find what a VPN client broke (the repair, the least that works, is the vpn.fix
step: devnet.steps.vpn_fix).

- firewall: when devnet's probes go unanswered and the firewall's own accounting names the
  rule that dropped them, devnet's own narrow, marked exception goes right before that rule
  (journaled, so `vpn.restore` and `down` remove exactly it); no rule is ever deleted or
  edited: iptables and nftables on Linux, ipfw and pf on macOS, through the host's OS
  adapter (`dn.os`), as are the routes. The firewall is judged after the routes are right;
- routes, judged as the kernel routes (devnet.vpn.routes): a route to a Docker subnet the VPN
  took over is pointed back at the VM, the host-only network's own route is put back; where
  a VPN's `ip rule` sends devnet's traffic to its own table, devnet adds a marked rule of its
  own before it (`to <network> lookup main`); a VPN route *more specific* than a Docker
  subnet is a real overlap: refused, naming both sides and a free range;
- resolver: devnet's DNS first again.
"""

from __future__ import annotations

import ipaddress

from devnet.host.firewall_blame import Scope
from devnet.host.probe import devnet_probes
from devnet.vpn.routes import Problem, main_table_problems, policy_problems


def networks(dn) -> list:
    """devnet's networks: the host-only one, the Docker subnets, and watched Docker networks."""
    nets = [dn.settings.hostonly.network, *dn.settings.docker_subnets]
    nets += [ipaddress.ip_network(e["args"]["dst"]) for e in dn.journal.entries()
             if e["step"] == "net.network"]
    return nets


def scope(dn) -> Scope:
    s = dn.settings
    return Scope(networks(dn), dn.provider.hostonly_link(), str(s.hostonly.host_ip),
                 f"devnet:{s.instance}")


def firewall_problems(dn) -> list[Problem]:
    """Chains of the host's firewall (iptables/nft on Linux, ipfw/pf on macOS) where a rule
    drops devnet's probes, each with devnet's exception for it; kind "unexplained": a probe
    went unanswered and no rule is to blame (nothing there to repair)."""
    where = scope(dn)
    found = dn.os.firewall_problems(dn.host, where, devnet_probes(dn.settings, where.networks))
    return [Problem(kind, text, data) for kind, text, data in found]


def repairable(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.kind not in ("unexplained", "deferred")]


def route_problems(dn) -> list[Problem]:
    if dn.gateway is None:
        return []  # no VM (provider local): Docker's bridges are this machine's own links
    nets = networks(dn)
    found = main_table_problems(dn, nets)
    # a rule can send devnet's traffic elsewhere only where main's own route is right
    wrong = {p.data.get("dst", str(dn.settings.hostonly.network)) for p in found}
    return found + policy_problems(dn, [n for n in nets if str(n) not in wrong])
