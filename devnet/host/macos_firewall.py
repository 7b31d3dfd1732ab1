"""vpn.fix on macOS: which ipfw or pf rule drops devnet's probes, from their own counters
(`ipfw -a -S list`, `pfctl -vvsr` of the main ruleset and each anchor it evaluates), and
devnet's own exception before it. No rule of anyone else's is ever deleted or reloaded away.

- ipfw: devnet's rules take the number right before the dropping rule's (a free one when
  there is one, else the previous rule's: same-number rules run in the order added) and
  ipfw's set 30, with `// devnet:<instance>`; removed by `ipfw delete set 30`, and only when
  every rule of set 30 is devnet's.
- pf: devnet's own anchor (`devnet.<instance>`) holding `pass quick` of devnet's traffic,
  referenced first in the main ruleset, so it is evaluated before any VPN's anchor; undone by
  flushing that anchor and taking its reference out again.
Every command, reads included, needs root.
"""

from __future__ import annotations

import re

from devnet.errors import DevnetError
from devnet.host import firewall_blame as blame
from devnet.host import firewall_exception as exception
from devnet.host.firewall_io import read_listing, run_probes, unexplained
from devnet.host.macos_firewall_rules import parse_ipfw, parse_pf
from devnet.host.sudo import run_as_root
from devnet.system import cmd

DEVNET_SET = 30


def _ipfw(c):
    text = read_listing(c, "ipfw -a -S list")
    return None if text is None else parse_ipfw(text)


def _pf_enabled(c) -> bool:
    text = read_listing(c, "pfctl -si")
    return bool(text) and "Status: Enabled" in text


def _pf_anchors(c, text: str) -> list[str]:
    """Anchors the main ruleset evaluates, but Apple's own (com.apple/*, which no VPN client
    loads into); `x/*` means every anchor under x."""
    names = []
    for name in re.findall(r'^(?:@\d+ )?anchor "([^"]+)"', text, re.M):
        if name.startswith("com.apple"):
            continue
        if name.endswith("/*"):
            names += (read_listing(c, cmd("pfctl", "-a", name[:-2], "-sA")) or "").split()
        else:
            names.append(name)
    return names


def _pf(c) -> list | None:
    """Every rule of the main ruleset and its anchors, with counters (chain = anchor)."""
    if not _pf_enabled(c):
        return None  # pf off: its rules drop nothing
    text = read_listing(c, "pfctl -vvsr") or ""
    rules = parse_pf(text)
    for anchor in _pf_anchors(c, text):
        rules += parse_pf(read_listing(c, cmd("pfctl", "-a", anchor, "-vvsr")) or "", anchor)
    return rules


def firewall_problems(c, scope, probes) -> list[tuple[str, str, dict]]:
    failed, _ = run_probes(c, probes)
    if not failed:
        return []
    before = {"ipfw": _ipfw(c), "pf": _pf(c)}
    failed, _ = run_probes(c, failed)
    if not failed:
        return []
    found, why = [], None
    for kind, rules in before.items():
        if rules is None:
            continue
        after = _ipfw(c) if kind == "ipfw" else _pf(c)
        blamed, why = blame.by_counters(rules, after, failed, scope)
        if blamed:
            found.append(_ipfw_problem(after, blamed[0], scope) if kind == "ipfw"
                         else _pf_problem(blamed, scope))
    return found or [unexplained(failed, why)]


def _ipfw_problem(rules, first, scope):
    taken = {int(r.handle) for r in rules}
    below = [n for n in taken if n < int(first.handle)]
    free = [n for n in range(int(first.handle) - 1, max(below, default=0), -1)
            if n not in taken]
    number = free[0] if free else max(below, default=1)
    strangers = [r for r in rules if r.group == DEVNET_SET and r.comment != scope.mark]
    if strangers:
        return ("unexplained", f"ipfw: rule {first.handle} drops devnet's traffic, but set "
                f"{DEVNET_SET} holds rules that are not devnet's: nothing changed", {})
    return ("ipfw", f"ipfw: rule {first.handle} `{first.spec}` drops devnet's traffic",
            {"number": number, "set": DEVNET_SET, "before": first.handle,
             "rules": exception.ipfw(scope), "mark": scope.mark})


def _pf_problem(blamed, scope):
    specs = ", ".join(f"`{r.spec}` ({r.chain})" for r in blamed)
    return ("pf", f"pf: {specs} drops devnet's traffic",
            {"anchor": exception.pf_anchor(scope), "rules": exception.pf(scope),
             "mark": scope.mark})


def _main_rules(c) -> list[str]:
    text = read_listing(c, "pfctl -sr")
    if text is None:
        raise DevnetError("cannot read the firewall: `pfctl -sr` is missing")
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


def _pf_load(c, anchor: str, lines: list[str]) -> None:
    pfctl = cmd("pfctl", *(["-a", anchor] if anchor else []), "-R", "-f", "-")
    text = "".join(f"{ln}\n" for ln in lines)
    run_as_root(c, cmd("sh", "-c", f'printf "%s" "$0" | {pfctl}', text), hide=True)


def add_exception(c, kind: str, d: dict, record) -> str:
    if kind == "ipfw":
        record(**d)
        for body in d["rules"]:
            run_as_root(c, cmd("ipfw", "add", d["number"], "set", d["set"], *body.split()),
                        hide=True)
        return (f"added devnet's exception (ipfw {d['number']}, set {d['set']}, "
                f"{d['mark']}) before rule {d['before']}")
    main = _main_rules(c)  # read before anything changes: never reload what was not read
    record(**d)
    _pf_load(c, d["anchor"], d["rules"])
    ref = f'anchor "{d["anchor"]}" all'
    if ref not in main:
        _pf_load(c, "", [ref, *main])
    return f"added devnet's exception (pf anchor {d['anchor']}, evaluated first)"


def describe_exception(kind: str, args: dict) -> str:
    if kind == "ipfw":
        return f"remove devnet's ipfw exception (set {args['set']}, {args['mark']})"
    return f"remove devnet's pf anchor {args['anchor']} and its reference"


def remove_exception(c, kind: str, args: dict) -> str:
    if kind == "ipfw":
        rules = [r for r in _ipfw(c) or [] if r.group == args["set"]]
        if not rules:
            return f"devnet's ipfw exception (set {args['set']}) was gone already"
        if any(r.comment != args["mark"] for r in rules):
            return f"ipfw set {args['set']} holds rules that are not devnet's: left alone"
        run_as_root(c, cmd("ipfw", "delete", "set", args["set"]), hide=True)
        return f"removed devnet's ipfw exception ({len(rules)} rule(s), set {args['set']})"
    ref = f'anchor "{args["anchor"]}" all'
    main = _main_rules(c)
    run_as_root(c, cmd("pfctl", "-a", args["anchor"], "-F", "rules"), hide=True, warn=True)
    if ref in main:
        _pf_load(c, "", [ln for ln in main if ln != ref])
    return f"removed devnet's pf anchor {args['anchor']} and its reference"
