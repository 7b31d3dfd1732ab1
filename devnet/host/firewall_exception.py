"""devnet's own exception rules: what vpn.fix inserts right before a rule that drops devnet's
traffic, instead of touching that rule.

Each accepts only devnet's traffic — out of the host-only link to devnet's networks, or in
from them on it — and carries devnet's mark, so `vpn.restore` and `down` find and remove
exactly these: an iptables comment, an nftables comment, an ipfw `// devnet:<instance>`
comment, or (pf) devnet's own anchor.
"""

from __future__ import annotations

from devnet.host.firewall_blame import Scope


def iptables(scope: Scope, ways: list[str]) -> list[list[str]]:
    """Argument lists, each one rule after `iptables -w -I CHAIN N`, in order."""
    found = []
    for way in ways:
        for net in scope.networks:
            side = (["-o", scope.link] if way == "out" else ["-i", scope.link]) \
                if scope.link else []
            addr = ["-d" if way == "out" else "-s", str(net)]
            found.append([*addr, *side, "-m", "comment", "--comment", scope.mark,
                          "-j", "ACCEPT"])
    return found


def nft(scope: Scope, ways: list[str]) -> list[str]:
    """Rule texts for `nft insert rule FAMILY TABLE CHAIN position H ...`, in order."""
    nets = ", ".join(str(n) for n in scope.networks)
    found = []
    for way in ways:
        iface = (f'oifname "{scope.link}" ' if way == "out" else f'iifname "{scope.link}" ') \
            if scope.link else ""
        addr = "daddr" if way == "out" else "saddr"
        found.append(f'{iface}ip {addr} {{ {nets} }} accept comment "{scope.mark}"')
    return found


def ipfw(scope: Scope) -> list[str]:
    """Rule bodies for `ipfw add N ...` (the comment after `//` is kept by ipfw)."""
    found = []
    for net in scope.networks:
        via_out = f" out xmit {scope.link}" if scope.link else " out"
        via_in = f" in recv {scope.link}" if scope.link else " in"
        found.append(f"allow ip from any to {net}{via_out} // {scope.mark}")
        found.append(f"allow ip from {net} to any{via_in} // {scope.mark}")
    return found


def pf_anchor(scope: Scope) -> str:
    """The name of devnet's anchor (evaluated first in the main ruleset)."""
    return scope.mark.replace(":", ".")


def pf(scope: Scope) -> list[str]:
    """The rules of devnet's anchor: `pass quick` of devnet's traffic only."""
    nets = ", ".join(str(n) for n in scope.networks)
    on = f" on {scope.link}" if scope.link else ""
    return [f"pass out quick{on} inet from any to {{ {nets} }} keep state",
            f"pass in quick{on} inet from {{ {nets} }} to any keep state"]
