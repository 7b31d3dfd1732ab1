"""Which firewall rules block devnet's networks, from each firewall's own listing.

A rule is removed only when it provably blocks devnet: it drops or rejects, and everything it
matches on is an address, an interface or a comment that devnet's traffic has — a rule with
any other condition (a port, a protocol, a state, a mark) is left alone and reported.
Parsers: `iptables-save` (legacy and nft backends print the same), `nft list ruleset`,
macOS `ipfw list` (or `ipfw -a list`) and `pfctl -sr`.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass, field


@dataclass
class Rule:
    backend: str  # iptables | nft | ipfw | pf
    table: str
    chain: str
    spec: str  # as the listing prints it, the handle to delete or re-insert it
    position: int  # 1-based within its chain
    action: str  # drop | reject | accept | jump | other
    src: list = field(default_factory=list)
    dst: list = field(default_factory=list)
    iface_in: str | None = None
    iface_out: str | None = None
    other: list = field(default_factory=list)  # any condition devnet cannot vouch for
    handle: str | None = None


def _nets(text: str) -> list:
    if text in ("any", "0.0.0.0/0"):
        return []
    return [ipaddress.ip_network(t, strict=False) for t in text.strip("{} ").split(",") if t]


# -- iptables-save ---------------------------------------------------------------------------

def parse_iptables_save(text: str) -> list[Rule]:
    rules, table, counts = [], "filter", {}
    for line in text.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        if not line.startswith("-A "):
            continue
        argv = shlex.split(line)
        chain = argv[1]
        counts[(table, chain)] = counts.get((table, chain), 0) + 1
        rule = Rule("iptables", table, chain, " ".join(shlex.quote(a) for a in argv[2:]),
                    counts[(table, chain)], "other")
        i = 2
        while i < len(argv):
            opt, val = argv[i], argv[i + 1] if i + 1 < len(argv) else ""
            negated = opt == "!"
            if negated:
                rule.other.append(f"! {val}")
                i += 3
                continue
            if opt == "-s":
                rule.src = _nets(val)
            elif opt == "-d":
                rule.dst = _nets(val)
            elif opt == "-i":
                rule.iface_in = val
            elif opt == "-o":
                rule.iface_out = val
            elif opt in ("-j", "-g"):
                rule.action = {"DROP": "drop", "REJECT": "reject", "ACCEPT": "accept"}.get(
                    val, "jump")
                if rule.action == "jump":
                    rule.other.append(f"jump {val}")
                break  # what follows are the target's own options (--reject-with ...)
            elif opt == "-m" and val == "comment":
                pass
            elif opt == "--comment":
                pass
            else:
                rule.other.append(f"{opt} {val}".strip())
            i += 2
        rules.append(rule)
    return rules


# -- nft list ruleset -a ---------------------------------------------------------------------

# Tables iptables-nft manages: iptables-save already lists (and iptables edits) their rules.
IPTABLES_NFT_TABLES = {f"{family} {table}" for family in ("ip", "ip6")
                       for table in ("filter", "nat", "mangle", "raw", "security")}


def parse_nft(text: str) -> list[Rule]:
    rules, family, table, chain, pos = [], "", "", "", 0
    for raw in text.splitlines():
        line = raw.strip()
        if m := re.match(r"table (\S+) (\S+) \{", line):
            family, table = m.groups()
        elif m := re.match(r"chain (\S+) \{", line):
            chain, pos = m.group(1), 0
        elif line and not line.startswith(("type ", "policy ", "}", "#", "set ", "elements")):
            pos += 1
            handle = None
            if m := re.search(r"\s# handle (\d+)$", line):
                handle, line = m.group(1), line[: m.start()]
            line = re.sub(r"counter packets \d+ bytes \d+", "counter", line)  # not the rule
            rule = Rule("nft", f"{family} {table}", chain, line, pos, "other", handle=handle)
            tokens = line.split()
            i = 0
            while i < len(tokens):
                tok = tokens[i]
                nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
                if tok == "ip" and nxt in ("saddr", "daddr"):
                    nets = _nets(tokens[i + 2])
                    (rule.src if nxt == "saddr" else rule.dst).extend(nets)
                    i += 3
                    continue
                if tok in ("iifname", "oifname", "iif", "oif"):
                    name = nxt.strip('"')
                    if tok.startswith("i"):
                        rule.iface_in = name
                    else:
                        rule.iface_out = name
                    i += 2
                    continue
                if tok in ("drop", "reject", "accept"):
                    rule.action = tok
                elif tok in ("counter", "packets", "bytes") or tok.isdigit():
                    pass
                elif tok in ("comment",):
                    i += 2
                    continue
                elif tok in ("jump", "goto"):
                    rule.action = "jump"
                    rule.other.append(f"{tok} {nxt}")
                    i += 2
                    continue
                elif tok == "with":  # reject with icmp type ...
                    break
                else:
                    rule.other.append(tok)
                i += 1
            rules.append(rule)
    return rules


# -- macOS ipfw list: "00411 deny ip from any to any" (-a adds packet and byte counts) ---------

def parse_ipfw(text: str) -> list[Rule]:
    rules = []
    for pos, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^(\d{5})\s+(?:\d+\s+\d+\s+)?(\D.*)$", line.strip())
        if not m:
            continue
        number, body = m.groups()
        tokens = body.split()
        action = {"deny": "drop", "reset": "reject", "unreach": "reject", "allow": "accept",
                  "permit": "accept", "pass": "accept"}.get(tokens[0], "other")
        rule = Rule("ipfw", "ipfw", "ipfw", body, pos, action, handle=number)
        m2 = re.match(r"^\S+(?: \S+)? (\S+) from (\S+) to (\S+)(.*)$", body)
        if m2:
            proto, src, dst, rest = m2.groups()
            if proto not in ("ip", "all"):
                rule.other.append(proto)
            rule.src, rule.dst = _nets(src.replace("me", "any")), _nets(dst)
            rest_tokens = rest.split()
            while rest_tokens:
                tok = rest_tokens.pop(0)
                if tok in ("out", "in"):
                    continue
                if tok in ("xmit", "via", "recv") and rest_tokens:
                    iface = rest_tokens.pop(0)
                    if tok == "recv":
                        rule.iface_in = iface
                    else:
                        rule.iface_out = iface
                    continue
                rule.other.append(tok)
        else:
            rule.other.append(body)
        rules.append(rule)
    return rules


# -- macOS pfctl -sr: "block drop out quick on utun0 all", "block drop quick all" ------------

def parse_pf(text: str) -> list[Rule]:
    rules = []
    for pos, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line.startswith(("block", "pass")):
            continue
        tokens = line.split()
        action = "accept" if tokens[0] == "pass" else (
            "reject" if len(tokens) > 1 and tokens[1].startswith("return") else "drop")
        rule = Rule("pf", "pf", "main", line, pos, action)
        i = 1
        direction = None
        while i < len(tokens):
            tok = tokens[i]
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if tok in ("drop", "return", "quick", "all", "inet", "log"):
                pass
            elif tok in ("in", "out"):
                direction = tok
            elif tok == "on":
                if direction == "in":
                    rule.iface_in = nxt
                else:
                    rule.iface_out = nxt
                i += 1
            elif tok in ("from", "to"):
                nets = [] if nxt == "any" else _nets(nxt)
                (rule.src if tok == "from" else rule.dst).extend(nets)
                i += 1
            else:
                rule.other.append(tok)
            i += 1
        rules.append(rule)
    return rules


# -- the verdict -----------------------------------------------------------------------------

def blocks(rule: Rule, networks, link: str) -> bool:
    """True when `rule` drops traffic between this host and `networks` (host side included:
    the host-only network is one of them), whichever way it flows, over `link`."""
    if rule.action not in ("drop", "reject") or rule.other:
        return False
    if rule.iface_out not in (None, link) or rule.iface_in not in (None, link):
        return False
    nets = [ipaddress.ip_network(str(n)) for n in networks]

    def matches(side) -> bool:
        return not side or any(s.overlaps(n) for s in side for n in nets)

    return matches(rule.src) and matches(rule.dst)


def blocking(rules: list[Rule], networks, link: str) -> list[Rule]:
    return [r for r in rules if blocks(r, networks, link)]
