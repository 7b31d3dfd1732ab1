"""Only the rule that blocks devnet is selected, never an unrelated one, on every firewall."""

import pytest
from invoke import MockContext, Result

from devnet.host import linux, macos
from devnet.system import cmd
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
    rules = firewall.parse_ipfw(fixture_text("macos/ipfw-a-list-anyconnect.txt"))
    chosen = firewall.blocking(rules, NETS, "vboxnet0")
    assert [r.handle for r in chosen] == ["00411"]  # not 00200 (127/8), not the allows


def test_ipfw_list_with_and_without_counters_reads_the_same():
    plain = firewall.parse_ipfw(fixture_text("macos/ipfw-list-anyconnect.txt"))
    counted = firewall.parse_ipfw(fixture_text("macos/ipfw-a-list-anyconnect.txt"))
    assert [(r.handle, r.spec) for r in plain] == [(r.handle, r.spec) for r in counted]
    assert plain[3].spec == "deny ip from any to any"


def test_pf_selects_the_quick_block_all_not_the_dns_port_rule():
    rules = firewall.parse_pf(fixture_text("macos/pfctl-sr-anyconnect.txt"))
    chosen = firewall.blocking(rules, NETS, "vboxnet0")
    assert [(r.spec, r.position) for r in chosen] == [("block drop quick all", 10)]
    assert firewall.blocking(firewall.parse_pf(fixture_text("macos/pfctl-sr-main.txt")),
                             NETS, "vboxnet0") == []  # Apple's anchors, AnyConnect's anchor


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


# -- the adapters' repair and undo, as root and through sudo ---------------------------------

def host(uid, **commands) -> MockContext:
    return MockContext(run={"id -u": Result(f"{uid}\n"), **commands})


def ran(c) -> list[str]:
    return [call.args[0] for call in c.run.call_args_list]


def journal():
    entries = []
    return entries, lambda **args: entries.append(args)


SUDO = pytest.mark.parametrize("uid, sudo", [(0, ""), (501, "sudo ")])
ANYCONNECT = fixture_text("macos/pfctl-sr-anyconnect.txt")
ANCHOR = "cisco.anyconnect.vpn"


def pf_load(sudo: str, anchor: str, text: str) -> str:
    pfctl = cmd("pfctl", *(["-a", anchor] if anchor else []), "-R", "-f", "-")
    return sudo + cmd("sh", "-c", f'printf "%s" "$0" | {pfctl}', text)


def mac_firewall(uid, sudo, anchor_rules=ANYCONNECT, **more) -> MockContext:
    return host(uid, **{
        f"{sudo}ipfw list": Result(fixture_text("macos/ipfw-list-anyconnect.txt")),
        f"{sudo}pfctl -si": Result(fixture_text("macos/pfctl-si.txt")),
        f"{sudo}pfctl -sr": Result(fixture_text("macos/pfctl-sr-main.txt")),
        f"{sudo}pfctl -a {ANCHOR} -sr": Result(anchor_rules), **more})


@SUDO
def test_macos_finds_the_ipfw_rule_and_the_pf_anchors_rule(uid, sudo):
    c = mac_firewall(uid, sudo)
    found = macos.firewall_problems(c, NETS, "vboxnet0")
    assert found == [
        ("ipfw", "ipfw: rule 00411 `deny ip from any to any` blocks devnet",
         {"number": "00411", "rules": ["deny ip from any to any"]}),
        ("pf", f"pf: `block drop quick all` in anchor {ANCHOR} blocks devnet",
         {"anchor": ANCHOR, "rules": [[10, "block drop quick all"]]}),
    ]
    # firewalls answer only root; Apple's own anchors (com.apple/*) are not read
    assert all(line.startswith(sudo) for line in ran(c)[1:])
    assert not any("com.apple" in line for line in ran(c))


@SUDO
def test_ipfw_rule_is_deleted_by_number_and_put_back(uid, sudo):
    entries, record = journal()
    c = mac_firewall(uid, sudo, **{f"{sudo}ipfw delete 411": Result("")})
    data = {"number": "00411", "rules": ["deny ip from any to any"]}
    assert macos.remove_rule(c, "ipfw", data, record) == \
        "removed ipfw rule 00411 `deny ip from any to any`"
    assert entries == [data] and ran(c)[-1] == f"{sudo}ipfw delete 411"

    without = "".join(ln + "\n" for ln in fixture_text("macos/ipfw-list-anyconnect.txt")
                      .splitlines() if not ln.startswith("00411"))
    c = host(uid, **{f"{sudo}ipfw list": Result(without),
                     f"{sudo}ipfw add 411 deny ip from any to any": Result("")})
    assert macos.put_back_rule(c, "ipfw", data) == \
        "put back ipfw rule 00411 `deny ip from any to any`"
    assert macos.describe_rule("ipfw", data) == \
        "put back ipfw rule 00411 `deny ip from any to any`"


def test_ipfw_is_not_put_back_once_the_vpn_is_gone_or_back():
    data = {"number": "00411", "rules": ["deny ip from any to any"]}
    gone = host(0, **{"ipfw list": Result("65535 allow ip from any to any\n")})
    assert "the VPN disconnected" in macos.put_back_rule(gone, "ipfw", data)
    back = host(0, **{"ipfw list": Result(fixture_text("macos/ipfw-list-anyconnect.txt"))})
    assert macos.put_back_rule(back, "ipfw", data) == \
        "ipfw rule 00411 is there again: nothing to put back"
    assert not any(line.startswith("ipfw add") for line in ran(gone) + ran(back))


@SUDO
def test_pf_anchor_is_reloaded_without_the_rule_and_with_it_again(uid, sudo):
    lines = ANYCONNECT.splitlines()
    without = "".join(ln + "\n" for ln in lines if ln != "block drop quick all")
    entries, record = journal()
    c = mac_firewall(uid, sudo, **{pf_load(sudo, ANCHOR, without): Result("")})
    data = {"anchor": ANCHOR, "rules": [[10, "block drop quick all"]]}
    assert macos.remove_rule(c, "pf", data, record) == \
        f"removed pf rule(s) block drop quick all from anchor {ANCHOR}"
    assert entries == [data] and ran(c)[-1] == pf_load(sudo, ANCHOR, without)

    # undo: the anchor as the repair left it gets the rule back at its place: as it was
    c = mac_firewall(uid, sudo, anchor_rules=without,
                     **{pf_load(sudo, ANCHOR, ANYCONNECT): Result("")})
    assert macos.put_back_rule(c, "pf", data) == \
        f"put back pf rule(s) `block drop quick all` in anchor {ANCHOR}"
    assert ran(c)[-1] == pf_load(sudo, ANCHOR, ANYCONNECT)


def test_pf_is_not_put_back_into_an_emptied_anchor_nor_twice():
    data = {"anchor": ANCHOR, "rules": [[10, "block drop quick all"]]}
    flushed = mac_firewall(0, "", anchor_rules="")
    assert "the VPN disconnected" in macos.put_back_rule(flushed, "pf", data)
    reloaded = mac_firewall(0, "")
    assert "has its rules again" in macos.put_back_rule(reloaded, "pf", data)
    assert macos.describe_rule("pf", data) == \
        f"put back pf rule(s) `block drop quick all` in anchor {ANCHOR}"


def test_pf_off_or_no_ipfw_blocks_nothing_and_wildcard_anchors_are_followed():
    off = host(0, **{"ipfw list": Result("", stderr="ipfw: command not found", exited=127),
                     "pfctl -si": Result("Status: Disabled           Debug: Urgent\n")})
    assert macos.firewall_problems(off, NETS, "vboxnet0") == []
    nested = host(0, **{
        "ipfw list": Result("", exited=127),
        "pfctl -si": Result(fixture_text("macos/pfctl-si.txt")),
        "pfctl -sr": Result('anchor "com.apple/*" all\nanchor "vpnclient/*" all\n'),
        "pfctl -a vpnclient -sA": Result("  vpnclient/killswitch\n"),
        "pfctl -a vpnclient/killswitch -sr": Result("pass out quick on utun4 all flags any\n"
                                                     "block drop out quick all\n"),
    })
    [(kind, text, data)] = macos.firewall_problems(nested, NETS, "vboxnet0")
    assert data == {"anchor": "vpnclient/killswitch", "rules": [[2, "block drop out quick all"]]}


@SUDO
def test_linux_iptables_rule_removed_and_put_back(uid, sudo):
    c = host(uid, **{
        f"{sudo}iptables-save -t filter": Result(fixture_text("iptables-save-vpn.txt")),
        f"{sudo}nft -a list ruleset": Result(fixture_text("nft-ruleset-vpn.txt")),
        f"{sudo}iptables -w -t filter -D ciscovpn -j DROP": Result(""),
    })
    found = linux.firewall_problems(c, NETS, "dn1-ho0")
    # iptables-nft's own table is iptables' to repair, not nft's
    assert found == [("firewall", "firewall: `-A ciscovpn -j DROP` blocks devnet",
                      {"table": "filter", "chain": "ciscovpn", "spec": "-j DROP",
                       "position": 5})]
    entries, record = journal()
    assert linux.remove_rule(c, *found[0][::2], record) == "removed `-A ciscovpn -j DROP`"
    assert entries == [found[0][2]]
    assert ran(c)[-1] == f"{sudo}iptables -w -t filter -D ciscovpn -j DROP"

    c = host(uid, **{
        f"{sudo}iptables -w -t filter -n -L ciscovpn": Result("Chain ciscovpn (2 references)\n"),
        f"{sudo}iptables -w -t filter -S ciscovpn":
            Result("-N ciscovpn\n" + "-A ciscovpn -j X\n" * 4),
        f"{sudo}iptables -w -t filter -I ciscovpn 5 -j DROP": Result(""),
    })
    assert linux.put_back_rule(c, "firewall", entries[0]) == \
        "put back `-A ciscovpn -j DROP` at 5"


@SUDO
def test_linux_native_nft_rule_removed_by_handle_and_put_back_after_its_neighbour(uid, sudo):
    c = host(uid, **{
        f"{sudo}iptables-save -t filter": Result("", exited=1),
        f"{sudo}nft -a list ruleset": Result(fixture_text("nft-ruleset-native.txt")),
        f"{sudo}nft delete rule inet anyconnect output handle 4": Result(""),
    })
    [(kind, _, data)] = linux.firewall_problems(c, NETS, "dn1-ho0")
    entries, record = journal()
    linux.remove_rule(c, kind, data, record)
    assert entries == [{"table": "inet anyconnect", "chain": "output",
                        "spec": "counter drop", "after": data["after"]}]  # no handle
    c = host(uid, **{
        f"{sudo}nft -a list chain inet anyconnect output": Result(
            fixture_text("nft-ruleset-native.txt")),
        f"{sudo}nft add rule inet anyconnect output position {data['after']} 'counter drop'":
            Result(""),
    })
    assert linux.put_back_rule(c, "nft", entries[0]) == \
        "put back nftables rule `counter drop` in inet anyconnect output"


# -- vpn.fix on a Mac, end to end through MockContext ----------------------------------------

HIJACKED = fixture_text("macos/netstat-nr-vpn.txt").replace(
    "172.17             172.16.0.11        UGSc      vboxnet0",
    "172.17             10.8.0.1           UGSc         utun1")


def test_vpn_fix_repairs_a_mac_and_vpn_restore_puts_it_back(settings):
    from devnet.core import Devnet
    from devnet.vpn.fix import VpnFix

    without = "".join(ln + "\n" for ln in ANYCONNECT.splitlines() if ln != "block drop quick all")
    c = mac_firewall(501, "sudo ", **{
        "uname -s": Result("Darwin\n"),
        "netstat -nr -f inet": Result(HIJACKED),
        "ifconfig -l": Result("lo0 en0 utun1 vboxnet0\n"),
        "sudo ipfw delete 411": Result(""),
        pf_load("sudo ", ANCHOR, without): Result(""),
        "sudo route -n change -net 172.17.0.0/16 172.16.0.11": Result(""),
        "sudo route -n change -net 172.17.0.0/16 10.8.0.1": Result(""),
    })
    dn = Devnet(settings, echo=lambda _: None)
    dn.provider.host = lambda: c
    dn.provider.hostonly_link = lambda: "vboxnet0"
    step = VpnFix(dn)
    assert step.check() is None
    assert step.plan() == ["ipfw: rule 00411 `deny ip from any to any` blocks devnet",
                           f"pf: `block drop quick all` in anchor {ANCHOR} blocks devnet",
                           "route: 172.17.0.0/16 is 172.17.0.0/16 via 10.8.0.1 dev utun1"]
    assert step.apply() == ("removed ipfw rule 00411 `deny ip from any to any`; "
                            f"removed pf rule(s) block drop quick all from anchor {ANCHOR}; "
                            "route 172.17.0.0/16 via 172.16.0.11 again")
    assert [e["args"]["kind"] for e in dn.journal.entries()] == ["ipfw", "pf", "route"]
    route = dn.journal.entries()[2]["args"]
    assert step.describe_undo(route) == \
        "put back the VPN's route 172.17.0.0/16 via 10.8.0.1 dev utun1"
    assert step.undo(route) == "put back route 172.17.0.0/16 via 10.8.0.1 dev utun1"
    assert ran(c)[-1] == "sudo route -n change -net 172.17.0.0/16 10.8.0.1"
    assert not any(line.startswith("sudo") for line in ran(c) if "netstat" in line
                   or "route -n get" in line)


def test_pf_is_never_reloaded_from_a_listing_it_could_not_read():
    from devnet.errors import DevnetError

    entries, record = journal()
    c = host(0, **{f"pfctl -a {ANCHOR} -sr": Result("", stderr="pfctl: Permission denied",
                                                    exited=1)})
    with pytest.raises(DevnetError, match=f"cannot read pf anchor {ANCHOR}"):
        macos.remove_rule(c, "pf", {"anchor": ANCHOR, "rules": [[10, "block drop quick all"]]},
                          record)
    assert entries == [] and not any("-f -" in line for line in ran(c))


def test_vpn_fix_on_linux_repairs_and_restores_with_these_commands(settings):
    """The Linux commands vpn.fix ran before the adapters, unchanged (root: no sudo)."""
    import json

    from devnet.core import Devnet
    from devnet.vpn.fix import VpnFix

    table = json.loads(fixture_text("ip-route-devnet.json"))
    for r in table:  # the VPN took the Docker subnet and the host-only network's route
        r.update({"gateway": "10.8.0.1", "dev": "tun0"} if r["dst"] == "172.17.0.0/16"
                 else {"dev": "tun0"})
    commands = [
        "iptables-save -t filter", "nft -a list ruleset", "ip -j route show table main",
        "iptables -w -t filter -D ciscovpn -j DROP",
        "nft delete rule inet anyconnect output handle 4",
        "ip route replace 172.16.0.0/16 dev dntest-ho0 proto kernel scope link src 172.16.0.1",
        "ip route replace 172.17.0.0/16 via 172.16.0.11",
        "ip route replace 172.17.0.0/16 via 10.8.0.1 dev tun0",
        "ip route replace 172.16.0.0/16 dev tun0",
        "nft -a list chain inet anyconnect output",
        "nft add rule inet anyconnect output position 3 'counter drop'",
        "iptables -w -t filter -n -L ciscovpn", "iptables -w -t filter -S ciscovpn",
        "iptables -w -t filter -I ciscovpn 2 -j DROP"]
    answers = {line: Result("") for line in commands}
    answers.update({
        "uname -s": Result("Linux\n"),
        "iptables-save -t filter": Result(fixture_text("iptables-save-vpn.txt")),
        "nft -a list ruleset": Result(fixture_text("nft-ruleset-native.txt")),
        "ip -j route show table main": Result(json.dumps(table)),
        "iptables -w -t filter -S ciscovpn": Result("-N ciscovpn\n-A ciscovpn -j X\n"),
        "nft -a list chain inet anyconnect output": Result(fixture_text("nft-ruleset-native.txt")),
    })
    c = host(0, **answers)
    dn = Devnet(settings, echo=lambda _: None)
    dn.provider.host = lambda: c
    step = VpnFix(dn)
    assert step.check() is None
    step.apply()
    for entry in reversed(dn.journal.entries()):
        step.undo(entry["args"])
    assert [line for line in ran(c) if line not in ("id -u", "uname -s")] == commands
