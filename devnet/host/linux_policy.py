"""Policy routing on Linux: which route the kernel really takes for devnet's traffic once a VPN
client added `ip rule`s and tables of its own (wg-quick's table 51820 behind `not fwmark` with
`suppress_prefixlength 0`, Tailscale's table 52 at priority 5270, strongSwan's table 220).

The kernel's own answer (`ip -j route get`) is the verdict. `choose` replays the kernel's
lookup on `ip -j rule show` and `ip -j route show table all` (rules by priority, selectors,
longest prefix per table, `suppress_prefixlength`, throw, goto, unreachable rules) only to
name the rule that decided; where the replay disagrees with the kernel, devnet says so and
changes nothing.

devnet's repair is a rule of its own, never a change to a VPN's: `to <devnet network> lookup
main` one priority before the rule that sent devnet's traffic away, marked with protocol 217
(unassigned in iproute2's rt_protos), and removed by exactly that match.
"""

from __future__ import annotations

import ipaddress
import json

from devnet.errors import DevnetError
from devnet.host.routes import table_of
from devnet.host.sudo import run_as_root
from devnet.system import cmd

RULE_PROTO = "217"  # devnet's mark on its rules (`ip rule ... protocol 217`)
LOOKUP_KINDS = ("local", "broadcast", "multicast", "anycast", "unicast", "blackhole",
                "unreachable", "prohibit", "throw")
# selectors devnet's traffic cannot be judged by (any user, any port): the replay skips them
UNJUDGED = ("uid_start", "ipproto", "sport", "dport", "tos", "l3mdev", "tun_id")


def ip_json(c, *argv) -> list[dict]:
    out = c.run(cmd(*argv), hide=True, warn=True)
    if not out.ok:
        raise DevnetError(f"`{cmd(*argv)}` failed: {out.stderr.strip() or out.stdout.strip()}")
    text = out.stdout.strip()
    return json.loads(text) if text else []


def rules(c) -> list[dict]:
    return ip_json(c, "ip", "-j", "-4", "rule", "show")


def all_routes(c) -> list[dict]:
    return ip_json(c, "ip", "-j", "-4", "route", "show", "table", "all")


def kernel_route(c, address, src=None) -> dict:
    """`ip -j route get ADDRESS [from SRC]`; a refusal ("Network is unreachable") is
    {"error": ...}: that is the kernel's answer too."""
    argv = ["ip", "-j", "route", "get", str(address), *(["from", str(src)] if src else [])]
    out = c.run(cmd(*argv), hide=True, warn=True)
    if not out.ok:
        return {"error": out.stderr.strip() or "no route"}
    found = json.loads(out.stdout.strip() or "[]")
    return found[0] if found else {"error": "no route"}


# -- the replay --------------------------------------------------------------------------------

def _net(addr: str, length=None):
    if addr in ("default", "all"):
        return ipaddress.ip_network("0.0.0.0/0")
    return ipaddress.ip_network(addr if length is None else f"{addr}/{length}", strict=False)


def _matches(rule: dict, dst, src, mark: int) -> bool:
    """The rule's selectors against a locally sent packet (iif lo, no oif bound)."""
    if any(k in rule for k in UNJUDGED):
        return False
    ok = (rule.get("src", "all") == "all" or (src is not None and src in _net(
        rule["src"], rule.get("srclen", 32))))
    ok = ok and ("dst" not in rule or dst in _net(rule["dst"], rule.get("dstlen", 32)))
    if "fwmark" in rule:
        mask = int(rule.get("fwmask", "0xffffffff"), 16)
        ok = ok and (mark & mask) == int(rule["fwmark"], 16)
    ok = ok and rule.get("iif", "lo") == "lo" and "oif" not in rule
    return ok != ("not" in rule)


def lookup(routes: list[dict], table: str, dst) -> dict | None:
    """The table's most specific route for `dst` (then the lowest metric)."""
    best = None
    for r in routes:
        if table_of(r) != table or r.get("type", "unicast") not in LOOKUP_KINDS:
            continue
        net = _net(r["dst"])
        if net.version != dst.version or dst not in net:
            continue
        key = (net.prefixlen, -r.get("metric", 0))
        if best is None or key > best[0]:
            best = (key, r)
    return best[1] if best else None


def choose(rule_list: list[dict], routes: list[dict], dst, src=None, mark: int = 0):
    """(rule, route) the kernel would take for `dst`, or (None, None). An unreachable or
    prohibit rule answers with {"type": that}."""
    dst = ipaddress.ip_address(str(dst))
    src = ipaddress.ip_address(str(src)) if src else None
    ordered = sorted(rule_list, key=lambda r: r.get("priority", 0))
    skip_below = -1
    for rule in ordered:
        prio = rule.get("priority", 0)
        if prio < skip_below or not _matches(rule, dst, src, mark):
            continue
        if "goto" in rule:
            skip_below = rule["goto"]
            continue
        if rule.get("action") in ("unreachable", "prohibit", "blackhole"):
            return rule, {"type": rule["action"]}
        if "table" not in rule:
            continue  # nop
        route = lookup(routes, rule["table"], dst)
        if route is None or route.get("type") == "throw":
            continue
        if _net(route["dst"]).prefixlen <= rule.get("suppress_prefixlen", -1):
            continue
        return rule, route
    return None, None


def same(route: dict | None, answer: dict, table: str | None) -> bool:
    """Does the replayed (route, its table) say what the kernel answered?"""
    if route is None or "error" in answer:
        return (route is None or route.get("type", "unicast") != "unicast") == ("error" in answer)
    return (route.get("gateway"), route.get("dev"), table) == (
        answer.get("gateway"), answer.get("dev"), answer.get("table", "main"))


def describe_rule(rule: dict) -> str:
    parts = [f"{rule.get('priority', 0)}:", "not" if "not" in rule else "",
             "from " + (rule.get("src", "all") if rule.get("src", "all") == "all"
                        else f"{rule['src']}/{rule.get('srclen', 32)}")]
    if "dst" in rule:
        parts.append(f"to {rule['dst']}/{rule.get('dstlen', 32)}")
    if "fwmark" in rule:
        parts.append("fwmark " + rule["fwmark"] + (f"/{rule['fwmask']}" if "fwmask" in rule
                                                   else ""))
    parts.append(f"lookup {rule['table']}" if "table" in rule else rule.get("action", "?"))
    if "suppress_prefixlen" in rule:
        parts.append(f"suppress_prefixlength {rule['suppress_prefixlen']}")
    if "protocol" in rule:
        parts.append(f"proto {rule['protocol']}")
    return " ".join(p for p in parts if p)


def free_priority_below(rule_list: list[dict], priority: int) -> int | None:
    """The highest priority under `priority` no rule holds (above the local table's 0)."""
    taken = {r.get("priority", 0) for r in rule_list}
    return next((p for p in range(priority - 1, 0, -1) if p not in taken), None)


# -- devnet's own rules ------------------------------------------------------------------------

def _rule_argv(verb: str, dst, priority: int) -> list[str]:
    return ["ip", "-4", "rule", verb, "priority", str(priority), "to", str(dst), "lookup",
            "main", "protocol", RULE_PROTO]


def add_policy_rule(c, dst, priority: int) -> None:
    run_as_root(c, cmd(*_rule_argv("add", dst, priority)), hide=True)


def delete_policy_rule(c, dst, priority: int) -> bool:
    """Remove devnet's rule (this priority, destination and mark only); False if gone."""
    return run_as_root(c, cmd(*_rule_argv("del", dst, priority)), hide=True, warn=True).ok


def own_rules(rule_list: list[dict]) -> list[dict]:
    return [r for r in rule_list if r.get("protocol") == RULE_PROTO]
