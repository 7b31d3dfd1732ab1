"""vpn.fix's firewall part: blame only on evidence (probes + the firewall's own counters or
trace), repair only with devnet's own marked exception, never delete anyone else's rule."""

import json

import pytest
from invoke import MockContext, Result

from devnet.core import Devnet
from devnet.errors import DevnetError
from devnet.host import firewall_blame as blame
from devnet.host import firewall_exception as exception
from devnet.host import firewall_rules as firewall
from devnet.host import linux_firewall, macos_firewall, probe
from devnet.host.macos_firewall_rules import parse_ipfw, parse_pf
from devnet.steps.vpn_fix import VpnFix
from tests.unit.conftest import fixture_text

NETS = ["172.16.0.0/16", "172.17.0.0/16"]
SCOPE = blame.Scope([firewall.nets(n)[0] for n in NETS], "dn1-ho0", "172.16.0.1",
                    "devnet:dntest")
PROBES = [probe.Probe("icmp", "172.16.0.11"), probe.Probe("icmp", "172.17.42.1"),
          probe.Probe("udp", "172.17.42.1", 53), probe.Probe("tcp", "172.17.42.1", 53)]


def answered(*oks, trace=""):
    return Result(json.dumps({"answered": list(oks), "trace": trace}))


def host(**commands) -> MockContext:
    return MockContext(run={"id -u": Result("0\n"), **commands})


def ran(c) -> list[str]:
    return [call.args[0] for call in c.run.call_args_list if call.args[0] != "id -u"]


# -- reading: counters, policies, syntax devnet does not model ----------------------------------

def test_counters_blame_the_deny_all_not_the_jump_that_led_there():
    before = firewall.parse_iptables_save(fixture_text("iptables-save-c-vpn-before.txt"))
    after = firewall.parse_iptables_save(fixture_text("iptables-save-c-vpn-after.txt"))
    blamed, why = blame.by_counters(before, after, PROBES[:2], SCOPE)
    assert why is None
    assert [(r.chain, r.spec, r.position, r.packets) for r in blamed] == [
        ("ciscovpn", "-j DROP", 5, 2)]  # `-A OUTPUT -j ciscovpn` rose too: it only jumps
    assert blame.directions(after, blamed[0]) == ["out", "in"]  # hooked from both


def test_a_drop_whose_counter_did_not_rise_is_not_blamed():
    before = firewall.parse_iptables_save(fixture_text("iptables-save-c-vpn-before.txt"))
    assert blame.by_counters(before, before, PROBES, SCOPE) == ([], None)


def test_the_kernels_trace_names_the_nft_rule_that_dropped_the_probe():
    rules = firewall.parse_nft(fixture_text("nft-ruleset-anyconnect.txt"))
    blamed = blame.by_trace(fixture_text("nft-trace-anyconnect.txt"), rules)
    assert [(r.table, r.chain, r.handle, r.spec) for r in blamed] == [
        ("inet anyconnect", "output", "5", "counter drop")]
    assert blamed[0].hook == "output" and blame.directions(rules, blamed[0]) == ["out"]


def test_policies_are_rules_with_their_own_counters():
    rules = firewall.parse_iptables_save(
        "*filter\n:INPUT DROP [3:120]\n:OUTPUT ACCEPT [9:900]\n[5:300] -A INPUT -m conntrack "
        "--ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n")
    policy = [r for r in rules if r.policy]
    assert [(r.chain, r.action, r.packets, r.position) for r in policy] == [
        ("INPUT", "drop", 3, 2), ("OUTPUT", "accept", 9, 1)]
    nft = firewall.parse_nft("table inet filter {\n\tchain input {\n\t\ttype filter hook input "
                             "priority filter; policy drop;\n\t\tct state established accept\n"
                             "\t}\n}\n")
    assert [(r.spec, r.action, r.hook, r.policy) for r in nft] == [
        ("ct state established accept", "accept", "input", False),
        ("policy drop", "drop", "input", True)]


NFT_UNMODELLED = """table inet vpn { # handle 7
\tset allowed { # handle 2
\t\ttype ipv4_addr
\t\tflags interval
\t\telements = { 10.0.0.0/8, 192.168.0.0-192.168.3.255 }
\t}
\tmap verdicts { # handle 3
\t\ttype ipv4_addr : verdict
\t\telements = { 10.1.1.1 : drop }
\t}
\tchain output { # handle 1
\t\ttype filter hook output priority filter; policy accept;
\t\tip daddr != 10.0.0.0/8 drop # handle 4
\t\tip daddr { 192.0.2.1, 198.51.100.0/24 } reject # handle 5
\t\tip daddr 10.0.0.1-10.0.0.9 drop # handle 6
\t\tip daddr @allowed accept # handle 8
\t\tip daddr vmap @verdicts # handle 9
\t\tip daddr vmap { 172.17.0.0/16 : drop, 10.0.0.0/8 : accept } # handle 10
\t\tmeta mark 0x00000042 counter packets 7 bytes 420 drop # handle 11
\t}
}
"""


def test_nft_syntax_devnet_does_not_model_never_raises_and_is_left_to_evidence():
    rules = [r for r in firewall.parse_nft(NFT_UNMODELLED) if not r.policy]
    assert [r.handle for r in rules] == ["4", "5", "6", "8", "9", "10", "11"]
    judged = {r.handle: blame.could_drop(r, PROBES[1], SCOPE) for r in rules}
    # `!=`, ranges, vmaps, marks: devnet cannot rule them out, counters/trace decide
    assert judged == {"4": True, "5": True, "6": True, "8": False, "9": True, "10": True,
                      "11": True}
    assert rules[-1].packets == 7 and rules[-1].spec == "meta mark 0x00000042 counter drop"


@pytest.mark.parametrize("line, could", [
    ("-A OUTPUT -d 172.17.0.0/16 -j DROP", True),
    ("-A OUTPUT -d 10.0.0.0/8 -j DROP", False),  # not devnet's
    ("-A OUTPUT -o tun0 -j DROP", False),  # another interface
    ("-A INPUT -o dn1-ho0 -j DROP", False),  # INPUT has no output interface
    ("-A FORWARD -j DROP", False),  # host traffic is never forwarded
    ("-A OUTPUT -o dn1-ho0 -j REJECT --reject-with icmp-port-unreachable", True),
    ("-A OUTPUT -p udp -m udp --dport 53 -j DROP", True),  # cannot judge: counters decide
    ("-A OUTPUT ! -d 172.17.0.0/16 -j DROP", True),  # cannot judge: counters decide
    ("-A INPUT -s 172.17.0.0/16 -j DROP", True),  # the reply
    ("-A OUTPUT -d 172.17.0.0/16 -j ACCEPT", False),
    ("-A OUTPUT -j ciscovpn", False),
])
def test_what_a_rule_could_drop(line, could):
    [rule] = firewall.parse_iptables_save(f"*filter\n{line}\nCOMMIT\n")
    assert blame.could_drop(rule, PROBES[1], SCOPE) is could


def test_devnets_exceptions_accept_only_devnets_networks_on_its_link():
    assert exception.iptables(SCOPE, ["in"]) == [
        ["-s", "172.16.0.0/16", "-i", "dn1-ho0", "-m", "comment", "--comment",
         "devnet:dntest", "-j", "ACCEPT"],
        ["-s", "172.17.0.0/16", "-i", "dn1-ho0", "-m", "comment", "--comment",
         "devnet:dntest", "-j", "ACCEPT"]]
    assert exception.nft(SCOPE, ["out", "in"]) == [
        'oifname "dn1-ho0" ip daddr { 172.16.0.0/16, 172.17.0.0/16 } accept '
        'comment "devnet:dntest"',
        'iifname "dn1-ho0" ip saddr { 172.16.0.0/16, 172.17.0.0/16 } accept '
        'comment "devnet:dntest"']


# -- Linux: the adapter's commands ----------------------------------------------------------

IPT_BEFORE = fixture_text("iptables-save-c-vpn-before.txt")
IPT_AFTER = fixture_text("iptables-save-c-vpn-after.txt")


def test_nothing_dropped_nothing_read_beyond_the_counters_nothing_changed():
    c = host(**{"iptables-save -c": Result(IPT_BEFORE),
                probe.command(PROBES): answered(True, True, True, True)})
    assert linux_firewall.firewall_problems(c, SCOPE, PROBES) == []
    assert ran(c) == ["iptables-save -c", probe.command(PROBES)]


def test_an_unreadable_firewall_is_an_error_only_when_a_probe_was_dropped():
    denied = Result("", stderr="iptables-save: Permission denied", exited=1)
    c = host(**{"iptables-save -c": denied,
                probe.command(PROBES): answered(True, True, True, True)})
    assert linux_firewall.firewall_problems(c, SCOPE, PROBES) == []
    c = host(**{"iptables-save -c": denied,
                probe.command(PROBES): answered(False, True, True, True)})
    with pytest.raises(DevnetError, match="cannot read the firewall: `iptables-save -c`"):
        linux_firewall.firewall_problems(c, SCOPE, PROBES)


def test_iptables_exception_goes_right_before_the_drop_and_leaves_by_its_mark(settings):
    c = host(**{"iptables-save -c": [Result(IPT_BEFORE), Result(IPT_AFTER)],
                probe.command(PROBES): answered(False, False, False, False),
                "nft -a list ruleset": Result("")})
    [(kind, text, data)] = linux_firewall.firewall_problems(c, SCOPE, PROBES)
    assert (kind, text) == ("iptables", "iptables: filter ciscovpn `-j DROP` drops devnet's "
                            "traffic")
    assert data["position"] == 5 and len(data["rules"]) == 4
    entries = []
    c = host(**{"iptables -w -t filter -I ciscovpn 5 " + " ".join(
        linux_firewall.cmd(*a) for a in [r]): Result("") for r in data["rules"]})
    said = linux_firewall.add_exception(c, kind, data, lambda **a: entries.append(a))
    assert entries == [data] and "before `-j DROP` in filter ciscovpn" in said
    assert ran(c)[0] == ("iptables -w -t filter -I ciscovpn 5 -s 172.17.0.0/16 -i dn1-ho0 "
                         "-m comment --comment devnet:dntest -j ACCEPT")  # last first
    assert not any(" -D " in line for line in ran(c))

    checks = {f"iptables -w -t filter -C ciscovpn {linux_firewall.cmd(*r)}":
              [Result(""), Result("", exited=1)] for r in data["rules"]}
    deletes = {f"iptables -w -t filter -D ciscovpn {linux_firewall.cmd(*r)}": Result("")
               for r in data["rules"]}
    c = host(**checks, **deletes)
    assert linux_firewall.remove_exception(c, kind, data) == \
        "removed devnet's exception (4 rule(s)) from filter ciscovpn"
    assert all("--comment devnet:dntest" in line for line in ran(c))

    # the same, from vpn.fix's journal entry (what `down` and `vpn.restore` undo)
    dn = Devnet(settings, echo=lambda _: None)
    c = host(**{"uname -s": Result("Linux\n")}, **deletes, **{
        check: [Result(""), Result("", exited=1)] for check in checks})
    dn.provider.host = lambda: c
    entry = {"kind": kind, **entries[0]}
    assert VpnFix(dn).describe_undo(entry) == \
        "remove devnet's exception (devnet:dntest) from filter ciscovpn"
    assert VpnFix(dn).undo(entry) == "removed devnet's exception (4 rule(s)) from filter ciscovpn"
    assert sum(" -D ciscovpn " in line for line in ran(c)) == 4


def test_nft_rule_without_a_counter_is_found_by_trace_and_excepted_by_handle():
    ruleset = fixture_text("nft-ruleset-anyconnect.txt")
    trace_cmd = probe.command(PROBES[:2], blame.trace_table("devnet_trace_dntest", PROBES[:2]),
                              "inet devnet_trace_dntest")
    c = host(**{"iptables-save -c": Result("", exited=127),
                probe.command(PROBES): answered(False, False, True, True),
                "nft -a list ruleset": Result(ruleset),
                trace_cmd: answered(False, False,
                                    trace=fixture_text("nft-trace-anyconnect.txt"))})
    [(kind, text, data)] = linux_firewall.firewall_problems(c, SCOPE, PROBES)
    assert kind == "nft" and data["handle"] == "5" and data["table"] == "inet anyconnect"
    assert data["rules"] == [exception.nft(SCOPE, ["out"])[0]]
    c = host(**{f"nft insert rule inet anyconnect output position 5 "
                f"{linux_firewall.cmd(*data['rules'][0].split())}": Result("")})
    linux_firewall.add_exception(c, kind, data, lambda **a: None)
    with_ours = ruleset.replace(
        '\t\tcounter packets 0 bytes 0 drop # handle 5',
        '\t\toifname "dn1-ho0" ip daddr { 172.16.0.0/16, 172.17.0.0/16 } accept comment '
        '"devnet:dntest" # handle 9\n\t\tcounter packets 0 bytes 0 drop # handle 5', 1)
    c = host(**{"nft -a list chain inet anyconnect output": Result(with_ours),
                "nft delete rule inet anyconnect output handle 9": Result("")})
    assert "removed devnet's exception (1 rule(s))" in \
        linux_firewall.remove_exception(c, kind, data)
    assert [x for x in ran(c) if "delete" in x] == [
        "nft delete rule inet anyconnect output handle 9"]  # only devnet's, by its mark


def test_a_dropped_probe_no_rule_owns_up_to_changes_nothing():
    c = host(**{"iptables-save -c": Result(IPT_BEFORE),
                probe.command(PROBES): answered(True, False, True, True),
                "nft -a list ruleset": Result("")})
    [(kind, text, data)] = linux_firewall.firewall_problems(c, SCOPE, PROBES)
    assert kind == "unexplained" and "172.17.42.1 (ping)" in text
    assert "not the firewall" in text


# -- macOS: ipfw counts and pf's -vvsr, with the exception devnet would add -----------------

def test_ipfw_counts_blame_00411_and_devnets_rules_share_410_in_set_30():
    before = parse_ipfw(fixture_text("macos/ipfw-a-S-list-before.txt"))
    after = parse_ipfw(fixture_text("macos/ipfw-a-S-list-after.txt"))
    scope = blame.Scope(SCOPE.networks, "vboxnet0", "172.16.0.1", "devnet:dntest")
    blamed, _ = blame.by_counters(before, after, PROBES, scope)
    assert [r.handle for r in blamed] == ["00411"]  # not 65535's allow, not 00200 (127/8)
    kind, _, data = macos_firewall._ipfw_problem(after, blamed[0], scope)
    assert (kind, data["number"], data["set"]) == ("ipfw", 410, 30)
    assert data["rules"][0] == "allow ip from any to 172.16.0.0/16 out xmit vboxnet0 // " \
        "devnet:dntest"
    c = host(**{f"ipfw add 410 set 30 {body}": Result("") for body in data["rules"]})
    macos_firewall.add_exception(c, kind, data, lambda **a: None)
    assert len(ran(c)) == 4
    ours = fixture_text("macos/ipfw-a-S-list-devnet.txt")
    c = host(**{"ipfw -a -S list": Result(ours), "ipfw delete set 30": Result("")})
    assert macos_firewall.remove_exception(c, kind, data) == \
        "removed devnet's ipfw exception (4 rule(s), set 30)"
    stranger = ours.replace("// devnet:dntest", "// someone", 1)
    c = host(**{"ipfw -a -S list": Result(stranger)})
    assert "left alone" in macos_firewall.remove_exception(c, kind, data)
    assert "ipfw delete set 30" not in ran(c)


def test_pf_counts_blame_the_anchors_block_all_and_devnets_anchor_goes_first():
    before = parse_pf(fixture_text("macos/pfctl-a-anyconnect-vvsr-before.txt"), "cisco")
    after = parse_pf(fixture_text("macos/pfctl-a-anyconnect-vvsr-after.txt"), "cisco")
    scope = blame.Scope(SCOPE.networks, "vboxnet0", "172.16.0.1", "devnet:dntest")
    blamed, _ = blame.by_counters(before, after, PROBES, scope)
    assert [r.spec for r in blamed] == ["block drop quick all"]  # not the port-53 block
    kind, _, data = macos_firewall._pf_problem(blamed, scope)
    assert data["anchor"] == "devnet.dntest" and data["rules"] == [
        "pass out quick on vboxnet0 inet from any to { 172.16.0.0/16, 172.17.0.0/16 } "
        "keep state",
        "pass in quick on vboxnet0 inet from { 172.16.0.0/16, 172.17.0.0/16 } to any "
        "keep state"]
    main = fixture_text("macos/pfctl-sr-main.txt")
    ours = pf_load("devnet.dntest", data["rules"])
    first = pf_load("", ['anchor "devnet.dntest" all', *main.splitlines()])
    c = host(**{"pfctl -sr": Result(main), ours: Result(""), first: Result("")})
    macos_firewall.add_exception(c, kind, data, lambda **a: None)
    assert ran(c) == ["pfctl -sr", ours, first]  # devnet's anchor, then referenced first
    c = host(**{"pfctl -sr": Result('anchor "devnet.dntest" all\n' + main),
                "pfctl -a devnet.dntest -F rules": Result(""),
                pf_load("", main.splitlines()): Result("")})
    assert macos_firewall.remove_exception(c, kind, data) == \
        "removed devnet's pf anchor devnet.dntest and its reference"
    assert ran(c)[-1] == pf_load("", main.splitlines())  # the main ruleset as it was


def pf_load(anchor: str, lines: list[str]) -> str:
    pfctl = linux_firewall.cmd("pfctl", *(["-a", anchor] if anchor else []), "-R", "-f", "-")
    text = "".join(f"{ln}\n" for ln in lines)
    return linux_firewall.cmd("sh", "-c", f'printf "%s" "$0" | {pfctl}', text)


def test_listings_with_and_without_counters_read_the_same_rules():
    plain = parse_ipfw(fixture_text("macos/ipfw-list-anyconnect.txt"))
    counted = parse_ipfw(fixture_text("macos/ipfw-a-list-anyconnect.txt"))
    assert [(r.handle, r.spec) for r in plain] == [(r.handle, r.spec) for r in counted]
    assert [r.packets for r in counted][3] == 94 and plain[3].packets is None
    pf_plain = parse_pf(fixture_text("macos/pfctl-sr-anyconnect.txt"))
    pf_counted = parse_pf(fixture_text("macos/pfctl-a-anyconnect-vvsr-before.txt"))
    assert [r.spec for r in pf_plain] == [r.spec for r in pf_counted]
    saved = firewall.parse_iptables_save(fixture_text("iptables-save-vpn.txt"))
    assert [r.spec for r in saved] == [r.spec for r in firewall.parse_iptables_save(IPT_BEFORE)]


def test_iptables_nft_tables_are_left_to_iptables_save():
    for name in ("nft-ruleset-native.txt", "nft-ruleset-vpn.txt"):
        rules = firewall.parse_nft(fixture_text(name))
        native = {r.table for r in rules if r.table not in firewall.IPTABLES_NFT_TABLES}
        assert native <= {"inet anyconnect"}


def test_macos_probes_then_both_firewalls_counters_name_their_rules():
    mac = blame.Scope(SCOPE.networks, "vboxnet0", "172.16.0.1", "devnet:dntest")
    anchor = "cisco.anyconnect.vpn"
    c = host(**{
        probe.command(PROBES): answered(False, False, False, False),
        "ipfw -a -S list": [Result(fixture_text("macos/ipfw-a-S-list-before.txt")),
                            Result(fixture_text("macos/ipfw-a-S-list-after.txt"))],
        "pfctl -si": Result(fixture_text("macos/pfctl-si.txt")),
        "pfctl -vvsr": Result(fixture_text("macos/pfctl-vvsr-main.txt")),
        f"pfctl -a {anchor} -vvsr": [
            Result(fixture_text("macos/pfctl-a-anyconnect-vvsr-before.txt")),
            Result(fixture_text("macos/pfctl-a-anyconnect-vvsr-after.txt"))]})
    found = macos_firewall.firewall_problems(c, mac, PROBES)
    assert [(kind, text) for kind, text, _ in found] == [
        ("ipfw", "ipfw: rule 00411 `deny ip from any to any` drops devnet's traffic"),
        ("pf", f"pf: `block drop quick all` ({anchor}) drops devnet's traffic")]
    assert not any("com.apple" in line for line in ran(c))  # Apple's anchors are not read


def test_macos_all_answered_reads_no_firewall():
    c = host(**{probe.command(PROBES): answered(True, True, True, True)})
    assert macos_firewall.firewall_problems(c, SCOPE, PROBES) == []
    assert ran(c) == [probe.command(PROBES)]


@pytest.mark.parametrize("name", sorted(p.name for p in (
    fixture_text.__globals__["FIXTURES"] / "real-world").iterdir() if p.suffix != ".md"))
def test_real_world_rulesets_read_without_error(name):
    text = fixture_text(f"real-world/{name}")
    if name.endswith(".nft") and not text.startswith("add "):
        rules = firewall.parse_nft(text)
    elif name.endswith(".rules"):
        rules = firewall.parse_iptables_save(text)
    else:
        rules = []  # wg-quick's own `nft -f` commands: read back in the e2e
    assert all(r.spec for r in rules)
    for r in rules:
        blame.could_drop(r, PROBES[0], SCOPE)  # judged or "cannot judge", never an error


def test_a_journal_entry_of_an_older_devnet_that_deleted_a_rule_is_only_reported(settings):
    step = VpnFix(Devnet(settings, echo=lambda _: None))
    old = {"kind": "firewall", "table": "filter", "chain": "ciscovpn", "spec": "-j DROP",
           "position": 5}
    assert "an older devnet deleted the firewall rule" in step.describe_undo(old)
    assert "not put back" in step.undo(old)  # no command run: nothing to mock
