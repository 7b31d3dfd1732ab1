"""Only the rule that blocks devnet is selected, never an unrelated one, on every firewall."""

import pytest

from devnet.vpn import firewall
from tests.unit.conftest import fixture_text

NETS = ["172.16.0.0/16", "172.17.0.0/16"]


def test_iptables_save_from_the_simulated_vpn():
    rules = firewall.parse_iptables_save(fixture_text("iptables-save-vpn.txt"))
    chosen = firewall.blocking(rules, NETS, "dn1-ho0")
    assert [(r.chain, r.spec, r.position) for r in chosen] == [("ciscovpn", "-j DROP", 5)]


def test_nft_ruleset_from_the_simulated_vpn():
    rules = firewall.parse_nft(fixture_text("nft-ruleset-vpn.txt"))
    chosen = firewall.blocking(rules, NETS, "dn1-ho0")
    assert [(r.chain, r.handle, r.action) for r in chosen] == [("ciscovpn", "6", "drop")]
    accepts = [r for r in rules if r.action == "accept"]
    assert {r.iface_out or r.iface_in for r in accepts} == {"cscotun0", "lo"}


def test_ipfw_deny_all_is_the_walkthroughs_rule_00411():
    rules = firewall.parse_ipfw(fixture_text("ipfw-anyconnect.txt"))
    chosen = firewall.blocking(rules, NETS, "vboxnet0")
    assert [r.handle for r in chosen] == ["00411"]  # not 00200 (127/8), not the allows


def test_pf_selects_the_quick_block_all_not_the_dns_port_rule():
    rules = firewall.parse_pf(fixture_text("pfctl-sr-anchors.txt"))
    chosen = firewall.blocking(rules, NETS, "vboxnet0")
    assert [r.spec for r in chosen] == ["block drop quick all"]


@pytest.mark.parametrize("line, blocked", [
    ("-A OUTPUT -d 172.17.0.0/16 -j DROP", True),
    ("-A OUTPUT -d 10.0.0.0/8 -j DROP", False),  # not devnet's
    ("-A OUTPUT -o tun0 -j DROP", False),  # another interface
    ("-A OUTPUT -o dn1-ho0 -j REJECT --reject-with icmp-port-unreachable", True),
    ("-A OUTPUT -p udp -m udp --dport 53 -j DROP", False),  # a condition devnet can't vouch for
    ("-A OUTPUT -m conntrack --ctstate INVALID -j DROP", False),
    ("-A OUTPUT ! -d 172.17.0.0/16 -j DROP", False),
    ("-A OUTPUT -d 172.16.0.0/12 -m comment --comment \"vpn: private\" -j DROP", True),
    ("-A OUTPUT -d 172.17.0.0/16 -j ACCEPT", False),
    ("-A OUTPUT -j ciscovpn", False),
])
def test_iptables_verdicts(line, blocked):
    rules = firewall.parse_iptables_save(f"*filter\n{line}\nCOMMIT\n")
    assert bool(firewall.blocking(rules, NETS, "dn1-ho0")) is blocked


def test_native_nftables_table_is_found_and_iptables_tables_left_to_iptables():
    rules = firewall.parse_nft(fixture_text("nft-ruleset-native.txt"))
    native = [r for r in rules if r.table not in firewall.IPTABLES_NFT_TABLES]
    chosen = firewall.blocking(native, NETS, "dn1-ho0")
    assert [(r.table, r.chain, r.handle, r.spec) for r in chosen] == [
        ("inet anyconnect", "output", "4", "counter drop")]
    assert {r.table for r in rules} == {"inet anyconnect", "ip filter"}
