"""VPN clients that route by policy, set up with the `ip` commands their own code runs, in
that order: for the e2e tests in the sim's host namespace, and to capture the unit tests'
fixtures (tests/unit/fixtures/policy/capture.py).

- wg-quick, full tunnel (AllowedIPs = 0.0.0.0/0): wireguard-tools, src/wg-quick/linux.bash,
  add_default(): `wg set wg0 fwmark 51820`, `ip -4 rule add not fwmark 51820 table 51820`,
  `ip -4 rule add table main suppress_prefixlength 0`, `ip -4 route add 0.0.0.0/0 dev wg0
  table 51820`; `wg-quick down` (del_if) deletes the rules with `ip -4 rule delete table
  51820` and `ip -4 rule delete table main suppress_prefixlength 0`, then the link.
- Tailscale with a subnet route accepted (`--accept-routes`, a subnet router advertising the
  corporate 172.16.0.0/12): tailscale, wgengine/router/router_linux.go, addIPRules(): rules
  5210, 5230, 5250 for its own fwmark 0x80000, then 5270 `table 52`, for every packet;
  addRoute(): `ip route add <cidr> dev tailscale0 table 52`; delIPRules() on the way down.

This kernel has no wireguard link type: a tun device of the same name stands in for the
tunnel (routing is the same; it carries nothing, so what goes into it is lost).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PolicyVpn:
    name: str
    link: str
    up: tuple[tuple[str, ...], ...]
    down: tuple[tuple[str, ...], ...]
    outside: str  # an address outside devnet's networks that the VPN takes
    table: str  # the VPN's table, where `outside` goes
    mark: str  # the VPN's own traffic's fwmark, which bypasses its table


def _tunnel(link: str, address: str) -> tuple[tuple[str, ...], ...]:
    return (("ip", "tuntap", "add", "dev", link, "mode", "tun"),  # `ip link add ... wireguard`
            ("ip", "-4", "address", "add", address, "dev", link),
            ("ip", "link", "set", "mtu", "1420", "up", "dev", link))


WG_QUICK = PolicyVpn(
    name="wg-quick", link="wg0", outside="192.0.2.99", table="51820", mark="51820",
    up=(*_tunnel("wg0", "10.64.0.2/32"),
        # (wg set wg0 fwmark 51820: the tunnel's own UDP carries the mark)
        ("ip", "-4", "rule", "add", "not", "fwmark", "51820", "table", "51820"),
        ("ip", "-4", "rule", "add", "table", "main", "suppress_prefixlength", "0"),
        ("ip", "-4", "route", "add", "0.0.0.0/0", "dev", "wg0", "table", "51820")),
    down=(("ip", "-4", "rule", "delete", "table", "51820"),
          ("ip", "-4", "rule", "delete", "table", "main", "suppress_prefixlength", "0"),
          ("ip", "link", "delete", "dev", "wg0")),
)

_TS_RULES = (("5210", "fwmark", "0x80000", "table", "main"),
             ("5230", "fwmark", "0x80000", "table", "default"),
             ("5250", "fwmark", "0x80000", "type", "unreachable"),
             ("5270", "table", "52"))

TAILSCALE = PolicyVpn(
    name="tailscale", link="tailscale0", outside="172.20.0.5", table="52", mark="0x80000",
    up=(*_tunnel("tailscale0", "100.101.102.103/32"),
        *(("ip", "-4", "rule", "add", "pref", *r) for r in _TS_RULES),
        ("ip", "route", "add", "100.64.0.0/10", "dev", "tailscale0", "table", "52"),
        ("ip", "route", "add", "172.16.0.0/12", "dev", "tailscale0", "table", "52")),
    down=(*(("ip", "-4", "rule", "del", "pref", *r) for r in _TS_RULES),
          ("ip", "link", "delete", "dev", "tailscale0")),
)

VPNS = (WG_QUICK, TAILSCALE)
