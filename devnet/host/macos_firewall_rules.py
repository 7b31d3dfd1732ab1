"""macOS's firewalls' listings, read into devnet.host.firewall_rules's Rule: `ipfw -a -S list` (rule
number, packet and byte counts, set, body, `// comment`) and `pfctl -vvsr` (`@N rule`, then
`[ Evaluations: … Packets: … ]`); without -a / -vv the same rules without counters.
"""

from __future__ import annotations

import re

from devnet.host.firewall_rules import Rule, nets

_IPFW = re.compile(r"^(\d{5})\s+(?:(\d+)\s+(\d+)\s+)?(?:set (\d+) )?(\D.*)$")


def parse_ipfw(text: str) -> list[Rule]:
    rules = []
    for line in text.splitlines():
        m = _IPFW.match(line.strip())
        if not m:
            continue
        number, packets, _, rule_set, body = m.groups()
        comment = None
        if " // " in body:
            body, comment = body.split(" // ", 1)
        tokens = body.split()
        action = {"deny": "drop", "reset": "reject", "unreach": "reject", "allow": "accept",
                  "permit": "accept", "pass": "accept", "accept": "accept"}.get(tokens[0],
                                                                               "other")
        rule = Rule("ipfw", "ipfw", "ipfw", body, len(rules) + 1, action, handle=number,
                    packets=int(packets) if packets else None, comment=comment)
        rule.group = int(rule_set) if rule_set else None
        m2 = re.match(r"^\S+(?: \S+)? (\S+) from (\S+) to (\S+)(.*)$", body)
        if not m2:
            rule.other.append(body)
            rules.append(rule)
            continue
        proto, src, dst, rest = m2.groups()
        if proto not in ("ip", "all"):
            rule.other.append(proto)
        for side, text_ in (("src", src), ("dst", dst)):
            found = nets("any" if text_ == "me" else text_)
            if found is None:
                rule.other.append(f"{side} {text_}")
            else:
                setattr(rule, side, found)
        words = rest.split()
        while words:
            tok = words.pop(0)
            if tok in ("xmit", "via", "recv") and words:
                iface = words.pop(0)
                if tok in ("recv", "via"):
                    rule.iface_in = iface if tok == "recv" else None
                if tok in ("xmit", "via"):
                    rule.iface_out = iface if tok == "xmit" else None
                if tok == "via":
                    rule.other.append(f"via {iface}")  # either way: judged by counters
            elif tok not in ("out", "in"):
                rule.other.append(tok)
        rules.append(rule)
    return rules


def parse_pf(text: str, anchor: str = "") -> list[Rule]:
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if m := re.search(r"Packets: (\d+)", line):
            if rules and line.startswith("["):
                rules[-1].packets = int(m.group(1))
            continue
        line = re.sub(r"^@\d+ ", "", line)
        if not line.startswith(("block", "pass")):
            continue
        tokens = line.split()
        action = "accept" if tokens[0] == "pass" else (
            "reject" if len(tokens) > 1 and tokens[1].startswith("return") else "drop")
        rule = Rule("pf", "pf", anchor or "main", line, len(rules) + 1, action)
        i, direction = 1, None
        while i < len(tokens):
            tok, nxt = tokens[i], tokens[i + 1] if i + 1 < len(tokens) else ""
            if tok in ("in", "out"):
                direction = tok
            elif tok == "on":
                setattr(rule, "iface_in" if direction == "in" else "iface_out", nxt)
                if direction is None:
                    rule.other.append(f"on {nxt}")  # either way: judged by counters
                i += 1
            elif tok in ("from", "to"):
                found = nets(nxt)
                if found is None:
                    rule.other.append(f"{tok} {nxt}")
                else:
                    (rule.src if tok == "from" else rule.dst).extend(found)
                i += 1
            elif tok not in ("drop", "return", "quick", "all", "inet", "log"):
                rule.other.append(tok)
            i += 1
        rules.append(rule)
    return rules
