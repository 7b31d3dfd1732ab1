"""vpn.fix on Linux: which iptables or native nftables rule drops devnet's traffic, proven
by probes and the kernel's accounting, and devnet's own exception right before it.

1. The probes (devnet.vpn.probe) run; all answered: the firewall blocks nothing, nothing
   more is read or changed (this is every net.watch round on a healthy host).
2. Some went unanswered: they run again between two `iptables-save -c` (per-rule counters,
   legacy and nft backends alike), and, where native nftables tables could drop them, with
   a trace table of devnet's own so `nft monitor trace` names the rule that dropped each
   probe packet (nft rules need no counter for that). The trace table lives only while the
   probes run.
3. Nothing blamed: not the firewall's doing (a route, the VM), or no verdict: said, and
   nothing changes. Rules devnet did not add are never deleted nor edited.
Every command, reads included, needs root; iptables always waits for the xtables lock (-w).
"""

from __future__ import annotations

from devnet.errors import DevnetError
from devnet.host import firewall_blame as blame
from devnet.host import firewall_exception as exception
from devnet.host import firewall_rules as firewall
from devnet.host.firewall_io import read_listing, run_probes, unexplained
from devnet.host.sudo import run_as_root
from devnet.system import cmd


def iptables_rules(c) -> list | None:
    text = read_listing(c, "iptables-save -c")
    return None if text is None else firewall.parse_iptables_save(text)


def nft_rules(c) -> list | None:
    """Rules of the native nftables tables (iptables-nft's own are iptables')."""
    text = read_listing(c, "nft -a list ruleset")
    return None if text is None else [r for r in firewall.parse_nft(text)
                                      if r.table not in firewall.IPTABLES_NFT_TABLES]


def trace_name(scope) -> str:
    return "devnet_trace_" + "".join(ch if ch.isalnum() else "_" for ch in scope.mark[7:])


def firewall_problems(c, scope, probes) -> list[tuple[str, str, dict]]:
    """(kind, what it says, what add_exception needs) per chain whose rule drops devnet's
    probes; kind "unexplained" says a probe went unanswered with no rule to blame."""
    try:  # counters around the first probes: no second round when iptables dropped them
        listed, unreadable = read_listing(c, "iptables-save -c"), None
    except DevnetError as err:
        listed, unreadable = None, err
    failed, _ = run_probes(c, probes)
    if not failed:
        return []  # nothing dropped: nothing is at fault, whatever the rules say
    if unreadable:
        raise unreadable
    before = None if listed is None else firewall.parse_iptables_save(listed)
    after = iptables_rules(c) if before is not None else None
    found, why = [], None
    if before is not None:
        blamed, why = blame.by_counters(before, after, failed, scope)
        found += _groups("iptables", after, blamed, scope)
    nft = nft_rules(c)
    suspects = [r for r in nft or [] if any(blame.could_drop(r, p, scope) for p in failed)]
    if suspects and not found:  # the kernel's trace of the probes names the nft rule
        name = trace_name(scope)
        failed, traced = run_probes(c, failed, blame.trace_table(name, failed), f"inet {name}")
        if not failed:
            return []  # answered now: a passing hiccup, nothing to blame
        found += _groups("nft", nft, blame.by_trace(traced, nft), scope)
    return found or [unexplained(failed, why)]


def _groups(kind, rules, blamed, scope):
    """One exception per chain, before the first rule there that dropped devnet's traffic."""
    first = {}
    for r in blamed:
        key = (r.table, r.chain)
        if key not in first or r.position < first[key].position:
            first[key] = r
    found = []
    for r in first.values():
        ways = blame.directions(rules, r)
        what = "its policy" if r.policy else f"`{r.spec}`"
        data = {"table": r.table, "chain": r.chain, "before": r.spec,
                "position": None if r.policy else r.position, "handle": r.handle,
                "rules": exception.iptables(scope, ways) if kind == "iptables"
                else exception.nft(scope, ways), "mark": scope.mark}
        found.append((kind, f"{kind}: {r.table} {r.chain} {what} drops devnet's traffic",
                      data))
    return found


def _iptables(table, op, chain, *rest):
    return cmd("iptables", "-w", "-t", table, op, chain, *rest)


def add_exception(c, kind: str, d: dict, record) -> str:
    """Journal (through `record(**args)`) devnet's exception, then insert it right before
    the rule (or at the end, before the policy) that drops devnet's traffic."""
    record(**d)
    if kind == "iptables":
        for argv in reversed(d["rules"]) if d["position"] else d["rules"]:
            where = ["-I", d["chain"], d["position"]] if d["position"] else ["-A", d["chain"]]
            run_as_root(c, _iptables(d["table"], where[0], *where[1:], *argv), hide=True)
    else:
        for text in d["rules"]:  # each lands before the dropping rule, after the last
            where = ["insert", "rule", *d["table"].split(), d["chain"], "position",
                     d["handle"]] if d["handle"] else ["add", "rule", *d["table"].split(),
                                                       d["chain"]]
            run_as_root(c, cmd("nft", *where, *text.split()), hide=True)
    return (f"added devnet's exception ({len(d['rules'])} rule(s), {d['mark']}) before "
            f"`{d['before']}` in {d['table']} {d['chain']}")


def describe_exception(kind: str, args: dict) -> str:
    return f"remove devnet's exception ({args['mark']}) from {args['table']} {args['chain']}"


def remove_exception(c, kind: str, args: dict) -> str:
    """Exactly devnet's rules, found by their mark; nothing else is touched."""
    gone = 0
    if kind == "iptables":
        for argv in args["rules"]:
            while run_as_root(c, _iptables(args["table"], "-C", args["chain"], *argv),
                              hide=True, warn=True).ok:
                run_as_root(c, _iptables(args["table"], "-D", args["chain"], *argv), hide=True)
                gone += 1
    else:
        listing = run_as_root(c, cmd("nft", "-a", "list", "chain", *args["table"].split(),
                                     args["chain"]), hide=True, warn=True)
        rules = firewall.parse_nft(listing.stdout) if listing.ok else []
        for r in rules:
            if r.comment == args["mark"] and r.handle:
                run_as_root(c, cmd("nft", "delete", "rule", *args["table"].split(),
                                   args["chain"], "handle", r.handle), hide=True)
                gone += 1
    if not gone:
        return f"devnet's exception in {args['table']} {args['chain']} was gone already"
    return f"removed devnet's exception ({gone} rule(s)) from {args['table']} {args['chain']}"
