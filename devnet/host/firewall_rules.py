"""The Linux firewalls' listings, read into rules devnet can reason about: `iptables-save -c`
(legacy and nft backends print the same) and `nft -a list ruleset`.

Reading never raises on syntax devnet does not model (nft's `!=`, sets, ranges, maps,
vmaps, iptables' matches): such a condition lands in `other`, which makes the rule "cannot
judge" for the static reading; the kernel's evidence (counters, trace) decides about it.
A chain's policy is a rule of its own (`policy=True`, last in its chain) with the policy's
counters, so a policy drop can be blamed like any rule.
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
    spec: str  # as the listing prints it (without counters)
    position: int  # 1-based within its chain
    action: str  # drop | reject | accept | jump | return | other
    src: list = field(default_factory=list)
    dst: list = field(default_factory=list)
    iface_in: str | None = None
    iface_out: str | None = None
    other: list = field(default_factory=list)  # conditions devnet does not model
    handle: str | None = None
    packets: int | None = None  # the rule's own counter, when the listing has one
    hook: str | None = None  # input | output | forward | ... for a built-in/base chain
    policy: bool = False
    comment: str | None = None
    group: int | None = None  # ipfw's rule set


def nets(text: str) -> list | None:
    """Networks of an address condition; [] for "any"; None when devnet cannot read it (a
    set, a range, a named set, a negation)."""
    if text in ("any", "0.0.0.0/0"):
        return []
    try:
        return [ipaddress.ip_network(t, strict=False) for t in text.split(",") if t]
    except ValueError:
        return None


def _address(rule: Rule, side: str, text: str) -> None:
    found = nets(text)
    if found is None:
        rule.other.append(f"{side} {text}")
    else:
        (rule.src if side == "src" else rule.dst).extend(found)


# -- iptables-save [-c] ----------------------------------------------------------------------

BUILTIN_HOOKS = {"INPUT": "input", "OUTPUT": "output", "FORWARD": "forward",
                 "PREROUTING": "prerouting", "POSTROUTING": "postrouting"}
TARGETS = {"DROP": "drop", "REJECT": "reject", "ACCEPT": "accept", "RETURN": "return"}


def parse_iptables_save(text: str) -> list[Rule]:
    rules, table, counts, policies = [], "filter", {}, {}
    for line in text.splitlines():
        packets = None
        if m := re.match(r"^\[(\d+):\d+\] (.*)$", line):
            packets, line = int(m.group(1)), m.group(2)
        if line.startswith("*"):
            table = line[1:].strip()
        elif m := re.match(r"^:(\S+) (ACCEPT|DROP) \[(\d+):\d+\]", line):
            policies[(table, m.group(1))] = (m.group(2), int(m.group(3)))
        elif line == "COMMIT":
            for (t, chain), (verdict, pkts) in policies.items():
                if t == table:
                    counts[(t, chain)] = counts.get((t, chain), 0) + 1
                    rules.append(Rule("iptables", t, chain, f"policy {verdict}",
                                      counts[(t, chain)], TARGETS[verdict], packets=pkts,
                                      hook=BUILTIN_HOOKS.get(chain), policy=True))
        elif line.startswith("-A "):
            argv = shlex.split(line) if '"' in line or "'" in line else line.split()  # fast
            chain = argv[1]
            counts[(table, chain)] = counts.get((table, chain), 0) + 1
            rule = Rule("iptables", table, chain, " ".join(shlex.quote(a) for a in argv[2:]),
                        counts[(table, chain)], "other", packets=packets,
                        hook=BUILTIN_HOOKS.get(chain))
            _read_iptables_conditions(rule, argv[2:])
            rules.append(rule)
    return rules


def _read_iptables_conditions(rule: Rule, argv: list[str]) -> None:
    i = 0
    while i < len(argv):
        opt, val = argv[i], argv[i + 1] if i + 1 < len(argv) else ""
        if opt == "!":
            rule.other.append(f"! {val}")
            i += 3
            continue
        if opt in ("-s", "-d"):
            _address(rule, "src" if opt == "-s" else "dst", val)
        elif opt in ("-i", "-o"):
            setattr(rule, "iface_in" if opt == "-i" else "iface_out", val)
        elif opt in ("-j", "-g"):
            rule.action = TARGETS.get(val, "jump")
            if rule.action == "jump":
                rule.other.append(f"{opt} {val}")
            return  # what follows are the target's own options (--reject-with ...)
        elif opt == "--comment":
            rule.comment = val
        elif not (opt == "-m" and val == "comment"):
            rule.other.append(f"{opt} {val}".strip())
        i += 2


# -- nft -a list ruleset ---------------------------------------------------------------------

# Tables iptables-nft manages: iptables-save already lists (and iptables edits) their rules.
IPTABLES_NFT_TABLES = {f"{family} {table}" for family in ("ip", "ip6")
                       for table in ("filter", "nat", "mangle", "raw", "security")}
_SKIP = ("type ", "policy ", "}", "#", "devices ")
# a table's named objects: their blocks hold no rules
_OBJECT = re.compile(r"(set|map|flowtable|counter|quota|limit|ct \w+|secmark|synproxy) \S+ \{")


def parse_nft(text: str) -> list[Rule]:
    rules, family, table, chain, pos, hook, policy = [], "", "", "", 0, None, None

    def close_chain():
        if chain and policy:
            rules.append(Rule("nft", f"{family} {table}", chain, f"policy {policy}", pos + 1,
                              policy, hook=hook, policy=True))

    for raw in text.splitlines():
        line = raw.strip()
        if m := re.match(r"table (\S+) (\S+) \{", line):
            close_chain()
            family, table, chain = *m.groups(), ""
        elif m := re.match(r"chain (\S+) \{", line):
            close_chain()
            chain, pos, hook, policy = m.group(1), 0, None, None
        elif _OBJECT.match(line):
            close_chain()
            chain = ""
        elif m := re.match(r"type \S+ hook (\S+) .*?(?:policy (\w+);)?\s*$", line):
            hook, policy = m.group(1), m.group(2)
        elif chain and line and not line.startswith(_SKIP) and not raw.startswith("\t\t\t"):
            pos += 1
            rules.append(_nft_rule(line, f"{family} {table}", chain, pos, hook))
    close_chain()
    return rules


def _nft_rule(line: str, table: str, chain: str, pos: int, hook) -> Rule:
    handle = None
    if m := re.search(r"\s*# handle (\d+)$", line):
        handle, line = m.group(1), line[: m.start()]
    packets = None
    if m := re.search(r"counter packets (\d+) bytes \d+", line):
        packets = int(m.group(1))
        line = line[: m.start()] + "counter" + line[m.end():]
    rule = Rule("nft", table, chain, line, pos, "other", handle=handle, packets=packets,
                hook=hook)
    if m := re.search(r' comment "([^"]*)"', line):
        rule.comment = m.group(1)
        line = line[: m.start()] + line[m.end():]
    tokens = line.split()
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok == "ip" and nxt in ("saddr", "daddr") and i + 2 < len(tokens):
            _address(rule, "src" if nxt == "saddr" else "dst", tokens[i + 2])
            i += 3
            continue
        if tok in ("iifname", "oifname") and nxt.startswith('"') and "*" not in nxt:
            setattr(rule, "iface_in" if tok == "iifname" else "iface_out", nxt.strip('"'))
            i += 2
            continue
        if tok in ("drop", "reject", "accept", "return"):
            rule.action = tok
            if tok == "reject":
                break  # reject with icmp type ...: the verdict's own options
        elif tok in ("jump", "goto"):
            rule.action = "jump"
            rule.other.append(f"{tok} {nxt}")
            i += 2
            continue
        elif tok != "counter":
            rule.other.append(tok)
        i += 1
    if " vmap " in f" {line} ":  # its verdict depends on the packet: it may drop
        rule.action = "drop"
    return rule
