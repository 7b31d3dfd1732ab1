"""vpn.fix on Linux: iptables rules (`iptables-save`) and native nftables tables (`nft -a list
ruleset`) that block devnet's networks; each removal is journaled so it can be put back
where it was. Every command, reads included, needs root.
"""

from __future__ import annotations

import shlex

from devnet.host.sudo import run_as_root
from devnet.system import cmd
from devnet.vpn import firewall


def firewall_problems(c, networks, link) -> list[tuple[str, str, dict]]:
    """(kind, what it says, what remove_rule needs) for every rule that blocks `networks`."""
    return _iptables_problems(c, networks, link) + _nft_problems(c, networks, link)


def _iptables_problems(c, networks, link):
    out = run_as_root(c, "iptables-save -t filter", hide=True, warn=True)
    if out.failed:
        return []
    return [("firewall", f"firewall: `-A {r.chain} {r.spec}` blocks devnet",
             {"table": r.table, "chain": r.chain, "spec": r.spec, "position": r.position})
            for r in firewall.blocking(firewall.parse_iptables_save(out.stdout), networks, link)]


def _nft_problems(c, networks, link):
    """Native nftables rules (tables iptables does not manage) that block devnet."""
    out = run_as_root(c, "nft -a list ruleset", hide=True, warn=True)
    if out.failed:
        return []  # no nft on this host
    rules = [r for r in firewall.parse_nft(out.stdout)
             if r.table not in firewall.IPTABLES_NFT_TABLES]
    found = []
    for r in firewall.blocking(rules, networks, link):
        before = [x.handle for x in rules if x.table == r.table and x.chain == r.chain
                  and x.position == r.position - 1]
        found.append(("nft", f"nftables: `{r.spec}` in {r.table} {r.chain} blocks devnet",
                      {"table": r.table, "chain": r.chain, "handle": r.handle,
                       "spec": r.spec, "after": before[0] if before else None}))
    return found


def remove_rule(c, kind: str, d: dict, record) -> str:
    """Journal (through `record(**args)`) what puts the rule back, then remove it."""
    if kind == "firewall":
        record(**d)
        run_as_root(c, f"iptables -w -t {d['table']} -D {shlex.quote(d['chain'])} {d['spec']}",
                    hide=True)
        return f"removed `-A {d['chain']} {d['spec']}`"
    # nft: a handle is only this rule's while it lives; the neighbour places it back
    record(table=d["table"], chain=d["chain"], spec=d["spec"], after=d["after"])
    run_as_root(c, cmd("nft", "delete", "rule", *d["table"].split(), d["chain"], "handle",
                       d["handle"]), hide=True)
    return f"removed nftables rule `{d['spec']}` ({d['table']} {d['chain']})"


def describe_rule(kind: str, args: dict) -> str:
    if kind == "nft":
        return f"put back nftables rule `{args['spec']}` in {args['table']} {args['chain']}"
    return f"put back `-A {args['chain']} {args['spec']}` at {args['position']}"


def put_back_rule(c, kind: str, args: dict) -> str:
    if kind == "nft":
        return _put_back_nft(c, args)
    table, chain = args["table"], shlex.quote(args["chain"])
    if run_as_root(c, f"iptables -w -t {table} -n -L {chain}", hide=True, warn=True).failed:
        return f"chain {args['chain']} is gone (the VPN disconnected): nothing to put back"
    length = len(run_as_root(c, f"iptables -w -t {table} -S {chain}", hide=True)
                 .stdout.splitlines()) - 1  # the -N/-P line
    pos = min(args["position"], length + 1)
    run_as_root(c, f"iptables -w -t {table} -I {chain} {pos} {args['spec']}", hide=True)
    return f"put back `-A {args['chain']} {args['spec']}` at {pos}"


def _put_back_nft(c, args) -> str:
    table = args["table"].split()
    listing = run_as_root(c, cmd("nft", "-a", "list", "chain", *table, args["chain"]),
                          hide=True, warn=True)
    if listing.failed:
        return f"nftables {args['table']} {args['chain']} is gone: nothing to put back"
    handles = {r.handle for r in firewall.parse_nft(listing.stdout)}
    if args["after"] in handles:
        where = ["add", "rule", *table, args["chain"], "position", args["after"]]
    else:
        where = ["insert", "rule", *table, args["chain"]]
    run_as_root(c, cmd("nft", *where, args["spec"]), hide=True)
    return f"put back nftables rule `{args['spec']}` in {args['table']} {args['chain']}"
