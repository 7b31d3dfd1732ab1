"""Which rule dropped devnet's probes: the verdict, from the firewall's own accounting.

Pure logic, fed with parsed listings (devnet.vpn.firewall, firewall_macos): a rule is at fault
only when its counter rose while a probe went unanswered (or the kernel's trace shows it
dropping a probe packet), it drops or rejects, and nothing devnet can read in its conditions
rules the probe out. A condition devnet does not model never clears a rule: the counter
decides. The chain graph (which hooks reach a chain through jumps) decides which way devnet's
exception must face.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from devnet.host.firewall_rules import Rule
from devnet.host.probe import Probe

DROPS = ("drop", "reject")
IN_HOOKS, OUT_HOOKS = ("input", "prerouting"), ("output", "postrouting")


@dataclass
class Scope:
    """devnet's traffic: between `host_ip` on `link` and `networks`; `mark` names devnet's
    own exception rules (`devnet:<instance>`)."""

    networks: list
    link: str | None
    host_ip: str
    mark: str


def _outside(side: list, address: str) -> bool:
    return bool(side) and not any(ipaddress.ip_address(address) in n for n in side)


def could_drop(rule: Rule, probe: Probe, scope: Scope) -> bool:
    """Whether `rule` may drop the probe or its reply, as far as its conditions tell."""
    if rule.action not in DROPS:
        return False
    for way, (src, dst) in (("out", (scope.host_ip, probe.dst)),
                            ("in", (probe.dst, scope.host_ip))):
        if rule.hook and rule.hook not in (OUT_HOOKS if way == "out" else IN_HOOKS):
            continue  # forward: host traffic never passes; input: only the reply
        iface, other = (rule.iface_out, rule.iface_in) if way == "out" else \
            (rule.iface_in, rule.iface_out)
        if other or (iface and scope.link and iface != scope.link):
            continue
        if _outside(rule.src, src) or _outside(rule.dst, dst):
            continue
        return True
    return False


def _keyed(rules: list[Rule]) -> dict:
    """Rules by (table, chain, spec, which occurrence): stable when rules are inserted
    elsewhere in the chain (devnet's own exceptions, say), unlike positions."""
    seen, found = {}, {}
    for r in rules:
        base = (r.table, r.chain, r.spec)
        seen[base] = seen.get(base, 0) + 1
        found[(*base, seen[base])] = r
    return found


def by_counters(before: list[Rule], after: list[Rule], failed: list[Probe],
                scope: Scope) -> tuple[list[Rule], str | None]:
    """(rules whose counter rose with the drop, why no verdict is possible or None)."""
    was, now = _keyed(before), _keyed(after)
    if not set(was) & set(now):
        return [], "the rules changed while devnet probed (someone else is editing them)"
    blamed = []
    for key, r in now.items():
        old = was.get(key)
        if old is None or r.packets is None or old.packets is None or r.packets <= old.packets:
            continue
        if r.action in DROPS and any(could_drop(r, p, scope) for p in failed):
            blamed.append(r)
    return blamed, None


_TRACE = re.compile(r"^trace id \S+ (\S+) (\S+) (\S+) (?:rule .* # handle (\d+) "
                    r"\(verdict (\w+)|policy (\w+))")


def by_trace(trace: str, rules: list[Rule]) -> list[Rule]:
    """Rules of `rules` that `nft monitor trace` shows dropping a traced (probe) packet."""
    found = []
    for line in trace.splitlines():
        m = _TRACE.match(line.strip())
        if not m or "drop" not in (m.group(5), m.group(6)):
            continue
        family, table, chain, handle, _, policy = m.groups()
        for r in rules:
            if (r.table, r.chain) == (f"{family} {table}", chain) and (
                    r.handle == handle if handle else r.policy) and r not in found:
                found.append(r)
    return found


def trace_table(name: str, probes: list[Probe]) -> str:
    """An nftables table of devnet's own that marks the probes' packets (and only those)
    for the kernel's trace, before any other table sees them."""
    dsts = ", ".join(sorted({p.dst for p in probes}))
    return (f"table inet {name} {{\n"
            f"  chain out {{ type filter hook output priority -350; policy accept; "
            f"ip daddr {{ {dsts} }} meta nftrace set 1; }}\n"
            f"  chain in {{ type filter hook input priority -350; policy accept; "
            f"ip saddr {{ {dsts} }} meta nftrace set 1; }}\n}}\n")


def hooks_reaching(rules: list[Rule], table: str, chain: str) -> set[str]:
    """The hooks whose packets can enter `chain` (following jumps and gotos)."""
    edges = {}
    for r in rules:
        if r.table != table:
            continue
        for cond in r.other:
            m = re.match(r"^(?:-j|-g|jump|goto) (\S+)$", cond)
            if m:
                edges.setdefault(m.group(1), set()).add(r.chain)
    hooks, seen, todo = set(), set(), [chain]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        hooks |= {r.hook for r in rules if r.table == table and r.chain == current and r.hook}
        todo += edges.get(current, ())
    return hooks


def directions(rules: list[Rule], rule: Rule) -> list[str]:
    """Which way devnet's exception in `rule`'s chain must match: out, in, or both."""
    hooks = {rule.hook} if rule.hook else hooks_reaching(rules, rule.table, rule.chain)
    ways = [w for w, hs in (("out", OUT_HOOKS), ("in", IN_HOOKS)) if hooks & set(hs)]
    return ways if ways or hooks else ["out", "in"]
