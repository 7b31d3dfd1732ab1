"""Routes judged as the kernel routes: `ip rule` + every table, on the rule sets real VPN
clients leave (captured with their own commands: fixtures/policy/capture.py)."""

import json

import pytest
from invoke import MockContext, Result

from devnet.core import Devnet
from devnet.errors import ConfigError, DevnetError
from devnet.host import linux_policy as policy
from devnet.steps.vpn_fix import VpnFix
from devnet.vpn.fix import route_problems
from tests.unit.conftest import fixture_json, fixture_text

CASES = ["wg-quick", "tailscale", "tailscale-fixed"]


def state(case):
    return (fixture_json(f"policy/{case}-ip-rule.json"), fixture_json(f"policy/{case}-routes.json"),
            fixture_json(f"policy/{case}-route-get.json"))


@pytest.mark.parametrize("case", CASES)
def test_the_replay_agrees_with_the_kernel_on_every_saved_answer(case):
    rules, routes, answers = state(case)
    for ask, answer in answers.items():
        words = ask.split()
        src = words[words.index("from") + 1] if "from" in words else None
        mark = int(words[words.index("mark") + 1], 0) if "mark" in words else 0
        rule, route = policy.choose(rules, routes, words[0], src, mark)
        assert policy.same(route, answer, rule.get("table")), (ask, rule, route, answer)


@pytest.mark.parametrize("case", CASES)
def test_rules_read_back_as_ip_rule_show_prints_them(case):
    shown = [" ".join(line.split()) for line in
             fixture_text(f"policy/{case}-ip-rule.txt").splitlines()]
    assert [policy.describe_rule(r) for r in fixture_json(f"policy/{case}-ip-rule.json")] == shown


def test_wg_quick_full_tunnel_leaves_main_tables_specific_routes_to_main():
    rules, routes, _ = state("wg-quick")
    rule, route = policy.choose(rules, routes, "172.17.0.1")
    assert (rule["priority"], route["gateway"]) == (32764, "172.16.0.11")  # suppress_prefixlength 0
    rule, route = policy.choose(rules, routes, "192.0.2.99")
    assert (rule["priority"], route["dev"]) == (32765, "wg0")  # everything else: the tunnel
    rule, route = policy.choose(rules, routes, "192.0.2.99", mark=51820)
    assert (rule["priority"], route["dev"]) == (32766, "eth0")  # the tunnel's own packets


def test_free_priority_below_skips_taken_ones():
    rules = [{"priority": 0}, {"priority": 5269}, {"priority": 5270}]
    assert policy.free_priority_below(rules, 5270) == 5268
    assert policy.free_priority_below([{"priority": 0}, {"priority": 1}], 1) is None


# -- vpn.fix's routes through MockContext ----------------------------------------------------

def linux_host(case, rules=None, routes=None, **more) -> MockContext:
    saved_rules, saved_routes, answers = state(case)
    rules, routes = rules or saved_rules, routes or saved_routes
    main = [r for r in routes if "table" not in r]
    run = {"id -u": Result("0\n"), "uname -s": Result("Linux\n"),
           "ip -j route show table main": Result(json.dumps(main)),
           "ip -j -4 rule show": Result(json.dumps(rules)),
           "ip -j -4 route show table all": Result(json.dumps(routes)), **more}
    for ask, answer in answers.items():
        run[f"ip -j route get {ask}"] = Result(json.dumps([answer]))
    return MockContext(run=run)


def devnet_on(settings, c) -> Devnet:
    dn = Devnet(settings, echo=lambda _: None)
    dn.provider.host = lambda: c
    dn.provider.hostonly_link = lambda: "ho0"
    return dn


def ran(c) -> list[str]:
    return [call.args[0] for call in c.run.call_args_list]


def test_a_wg_quick_full_tunnel_is_judged_harmless(settings):
    c = linux_host("wg-quick")
    assert route_problems(devnet_on(settings, c)) == []
    assert "ip -j route get 172.17.0.1 from 172.16.0.1" in ran(c)
    assert not any("rule add" in line for line in ran(c))


ADD = "ip -4 rule add priority 5269 to {} lookup main protocol 217"
DEL = "ip -4 rule del priority 5269 to {} lookup main protocol 217"


def test_tailscales_table_52_is_seen_and_a_marked_rule_added_before_it(settings):
    nets = ("172.16.0.0/16", "172.17.0.0/16")
    c = linux_host("tailscale", **{ADD.format(n): Result("") for n in nets},
                   **{DEL.format(n): Result("") for n in nets})
    dn = devnet_on(settings, c)
    found = route_problems(dn)
    assert [p.text for p in found] == [
        "route: rule `5270: from all lookup 52` sends 172.16.0.11 to 172.16.0.0/12 "
        "dev tailscale0 table 52",
        "route: rule `5270: from all lookup 52` sends 172.17.0.1 to 172.16.0.0/12 "
        "dev tailscale0 table 52"]
    step = VpnFix(dn)
    assert step._fix_policy(found[1]) == \
        "rule 5269: to 172.17.0.0/16 lookup main (before the VPN's `5270: from all lookup 52`)"
    assert ran(c)[-1] == ADD.format("172.17.0.0/16")
    step._fix_policy(found[0])
    entries = [e["args"] for e in dn.journal.entries()]
    assert entries == [{"kind": "policy", "dst": "172.17.0.0/16", "priority": 5269},
                       {"kind": "policy", "dst": "172.16.0.0/16", "priority": 5269}]
    assert step.describe_undo(entries[0]) == \
        "ip rule del priority 5269 to 172.17.0.0/16 lookup main"
    assert step.undo(entries[0]) == "rule 5269: to 172.17.0.0/16 lookup main removed"
    assert ran(c)[-1] == DEL.format("172.17.0.0/16")
    assert not any(" del " in line and "5270" in line for line in ran(c))  # never the VPN's


def test_after_the_repair_the_kernel_answers_right_and_nothing_is_added_again(settings):
    c = linux_host("tailscale-fixed")
    assert route_problems(devnet_on(settings, c)) == []
    assert not any(line.startswith("ip -j -4 rule") for line in ran(c))  # only when wrong


def test_a_vpn_table_route_inside_devnets_network_is_refused(settings):
    rules, routes, _ = state("tailscale")
    routes = routes + [{"dst": "172.17.0.0/17", "dev": "tailscale0", "table": "52", "flags": []}]
    with pytest.raises(ConfigError, match=r"172.17.0.0/17 dev tailscale0 table 52, inside "
                                          r"devnet's network 172.17.0.0/16"):
        route_problems(devnet_on(settings, linux_host("tailscale", routes=routes)))


def test_when_the_replay_cannot_name_the_rule_nothing_changes(settings):
    rules, _, _ = state("tailscale")
    hidden = [r for r in rules if r.get("table") != "52"]  # the kernel still answers table 52
    c = linux_host("tailscale", rules=hidden)
    dn = devnet_on(settings, c)
    found = route_problems(dn)
    assert found and all("cannot tell which rule" in p.text for p in found)
    with pytest.raises(DevnetError, match="changed nothing"):
        VpnFix(dn)._fix_policy(found[0])
    assert not any("rule add" in line for line in ran(c)) and dn.journal.entries() == []


def test_undo_puts_back_the_vpns_own_routes_devnet_replaced(settings):
    """vpn.fix's route and hostonly entries: `down` and `vpn.restore` route as the VPN had
    it (the routes as `ip -j route` printed them with a VPN up: fixtures/ip-route-vpn.json)."""
    vpn = {r["dst"]: r for r in fixture_json("ip-route-vpn.json")}
    took_docker = {**vpn["172.16.0.0/12"], "dst": "172.17.0.0/16"}
    took_hostonly = {**vpn["172.16.0.0/12"], "dst": "172.16.0.0/16"}
    put_back = "ip route replace {} via 10.8.0.1 dev tun0"
    c = MockContext(run={"id -u": Result("0\n"), "uname -s": Result("Linux\n"),
                         put_back.format("172.17.0.0/16"): Result(""),
                         put_back.format("172.16.0.0/16"): Result(
                             exited=2, stderr="RTNETLINK answers: No such device\n")})
    step = VpnFix(devnet_on(settings, c))
    route = {"kind": "route", "dst": "172.17.0.0/16", "was": took_docker}
    hostonly = {"kind": "hostonly", "was": took_hostonly}
    assert step.describe_undo(route) == \
        "put back the VPN's route 172.17.0.0/16 via 10.8.0.1 dev tun0"
    assert step.undo(route) == "put back route 172.17.0.0/16 via 10.8.0.1 dev tun0"
    assert step.describe_undo(hostonly) == \
        "put back the VPN's route 172.16.0.0/16 via 10.8.0.1 dev tun0"
    assert step.undo(hostonly) == \
        "route 172.16.0.0/16 could not be put back (RTNETLINK answers: No such device)"
    assert ran(c)[-2:] == [put_back.format("172.17.0.0/16"), put_back.format("172.16.0.0/16")]


class Ran:
    def __init__(self, ok: bool):
        self.ok = ok


def test_through_the_tunnel_vpn_fix_waits_for_the_vms_end(settings, monkeypatch):
    """The handshakes tried while the VPN held the routes were lost: vpn.fix returns once the
    VM's end answers through the tunnel again, or says it did not."""
    dn = devnet_on(settings, linux_host("tailscale-fixed"))
    step = VpnFix(dn)
    monkeypatch.setattr(step, "diagnose", lambda: [])
    dn.provider.tunnels = lambda: True
    assert dn.os.ping_argv("x")  # the OS adapter read from the mocked host (Linux) first
    asked = []
    answers = iter([False, False, True])
    dn.provider.host = lambda: type("Host", (), {
        "run": staticmethod(lambda line, **kw: asked.append(line) or Ran(next(answers)))})
    step.verify()
    assert asked == [f"ping -c1 -W1 {settings.vm_ip}"] * 3
    monkeypatch.setattr("devnet.steps.tunnel_link.TUNNEL_BACK", 0.2)
    dn.provider.host = lambda: type("Host", (), {
        "run": staticmethod(lambda line, **kw: Ran(False))})
    with pytest.raises(DevnetError, match="the tunnel's VM end .* to answer after the repair"):
        step.verify()
