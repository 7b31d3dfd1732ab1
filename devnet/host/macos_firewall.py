"""vpn.fix on macOS: ipfw rules (`ipfw list`; Cisco AnyConnect's deny-all, the walk-through's
rule 00411) and pf rules (`pfctl -sr`, in the main ruleset or the anchor a VPN client loads
its rules into) that block devnet's networks. Every command, reads included, needs root.

ipfw deletes by rule number, and puts back with `ipfw add <number> <rule>`. pf cannot
delete one rule: an anchor's rules are reloaded without it (`pfctl -a <anchor> -R -f -`,
filter rules only, so NAT and options stay), and put back by reloading them with it at
its old position.
"""

from __future__ import annotations

import re

from devnet.errors import DevnetError
from devnet.host.sudo import run_as_root
from devnet.system import cmd
from devnet.vpn import firewall

IPFW_DEFAULT_RULE = "65535"  # always there, allows or denies all: ipfw's own


def firewall_problems(c, networks, link) -> list[tuple[str, str, dict]]:
    """(kind, what it says, what remove_rule needs) for every rule that blocks `networks`."""
    return _ipfw_problems(c, networks, link) + _pf_problems(c, networks, link)


# -- ipfw ------------------------------------------------------------------------------------

def _ipfw_list(c):
    out = run_as_root(c, "ipfw list", hide=True, warn=True)
    return firewall.parse_ipfw(out.stdout) if out.ok else None  # None: no ipfw (macOS >= 10.10)


def _ipfw_problems(c, networks, link):
    rules = _ipfw_list(c) or []
    found = {}
    for r in firewall.blocking(rules, networks, link):
        if r.handle != IPFW_DEFAULT_RULE and r.handle not in found:
            # `ipfw delete N` takes every rule numbered N: all of them are journaled
            same = [x.spec for x in rules if x.handle == r.handle]
            found[r.handle] = ("ipfw", f"ipfw: rule {r.handle} `{r.spec}` blocks devnet",
                               {"number": r.handle, "rules": same})
    return list(found.values())


# -- pf --------------------------------------------------------------------------------------

def _pf_rules(c, anchor: str) -> list[str] | None:
    """The filter rules of `anchor` ("" is the main ruleset) as pfctl prints them, which is
    also how they load again."""
    out = run_as_root(c, cmd("pfctl", *(["-a", anchor] if anchor else []), "-sr"), hide=True,
                      warn=True)
    return [ln.strip() for ln in out.stdout.splitlines() if ln.strip()] if out.ok else None


def _pf_load(c, anchor: str, lines: list[str]) -> None:
    pfctl = cmd("pfctl", *(["-a", anchor] if anchor else []), "-R", "-f", "-")
    text = "".join(f"{ln}\n" for ln in lines)
    run_as_root(c, cmd("sh", "-c", f'printf "%s" "$0" | {pfctl}', text), hide=True)


def _pf_anchors(c, main: list[str]) -> list[str]:
    """Anchors the main ruleset evaluates, but Apple's own (com.apple/*: AirDrop, the
    application firewall), which no VPN client loads into; `x/*` means all anchors under x."""
    names = []
    for line in main:
        m = re.match(r'anchor "([^"]+)"', line)
        if not m or m.group(1).startswith("com.apple"):
            continue
        if m.group(1).endswith("/*"):
            out = run_as_root(c, cmd("pfctl", "-a", m.group(1)[:-2], "-sA"), hide=True,
                              warn=True)
            names += out.stdout.split() if out.ok else []
        else:
            names.append(m.group(1))
    return names


def _where(anchor: str) -> str:
    return f"anchor {anchor}" if anchor else "the main ruleset"


def _pf_problems(c, networks, link):
    info = run_as_root(c, "pfctl -si", hide=True, warn=True)
    if info.failed or "Status: Enabled" not in info.stdout:
        return []  # pf off: its rules block nothing
    main = _pf_rules(c, "") or []
    found = []
    for anchor in ["", *_pf_anchors(c, main)]:
        lines = main if not anchor else _pf_rules(c, anchor) or []
        chosen = firewall.blocking(firewall.parse_pf("\n".join(lines)), networks, link)
        if chosen:
            specs = ", ".join(f"`{r.spec}`" for r in chosen)
            found.append(("pf", f"pf: {specs} in {_where(anchor)} blocks devnet",
                          {"anchor": anchor, "rules": [[r.position, r.spec] for r in chosen]}))
    return found


# -- repair and undo -------------------------------------------------------------------------

def remove_rule(c, kind: str, d: dict, record) -> str:
    """Journal (through `record(**args)`) what puts the rules back, then remove them."""
    if kind == "ipfw":
        record(**d)
        run_as_root(c, cmd("ipfw", "delete", int(d["number"])), hide=True)
        return f"removed ipfw rule {d['number']} `{'; '.join(d['rules'])}`"
    lines = _pf_rules(c, d["anchor"])
    if lines is None:  # never reload what could not be read: that would flush the anchor
        raise DevnetError(f"cannot read pf {_where(d['anchor'])} (`pfctl -sr` failed)",
                          "sudo pfctl -sr; then invoke vpn.fix")
    record(**d)
    drop = {spec for _, spec in d["rules"]}
    _pf_load(c, d["anchor"], [ln for ln in lines if ln not in drop])
    return f"removed pf rule(s) {', '.join(sorted(drop))} from {_where(d['anchor'])}"


def describe_rule(kind: str, args: dict) -> str:
    if kind == "ipfw":
        return f"put back ipfw rule {args['number']} `{'; '.join(args['rules'])}`"
    specs = ", ".join(f"`{spec}`" for _, spec in args["rules"])
    return f"put back pf rule(s) {specs} in {_where(args['anchor'])}"


def put_back_rule(c, kind: str, args: dict) -> str:
    return (_put_back_ipfw if kind == "ipfw" else _put_back_pf)(c, args)


def _put_back_ipfw(c, args) -> str:
    rules = _ipfw_list(c)
    number = args["number"]
    if rules is None or all(r.handle == IPFW_DEFAULT_RULE for r in rules):
        return f"ipfw holds no VPN rules (the VPN disconnected): rule {number} not put back"
    if any(int(r.handle) == int(number) for r in rules):
        return f"ipfw rule {number} is there again: nothing to put back"
    for body in args["rules"]:
        run_as_root(c, cmd("ipfw", "add", int(number), *body.split()), hide=True)
    return f"put back ipfw rule {number} `{'; '.join(args['rules'])}`"


def _put_back_pf(c, args) -> str:
    anchor, where = args["anchor"], _where(args["anchor"])
    lines = _pf_rules(c, anchor)
    if not lines:
        return f"pf {where} is empty or gone (the VPN disconnected): nothing to put back"
    missing = [(pos, spec) for pos, spec in sorted(args["rules"]) if spec not in lines]
    if not missing:
        return f"pf {where} has its rules again: nothing to put back"
    for pos, spec in missing:  # ascending: each lands where it was
        lines.insert(min(pos, len(lines) + 1) - 1, spec)
    _pf_load(c, anchor, lines)
    return f"put back pf rule(s) {', '.join(f'`{s}`' for _, s in missing)} in {where}"
