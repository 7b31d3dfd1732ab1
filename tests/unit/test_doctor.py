"""invoke doctor's logic: hops in order, stop at the first failure, blame a cause when one is
found; the DNS hops read real `dig` and `getent` output through a MockContext."""

from types import SimpleNamespace

import pytest
from invoke import MockContext, Result

from devnet.doctor import Doctor, Hop, HopFailed, as_json, table
from devnet.errors import DevnetError
from devnet.host import linux


def doctor_with(checks: dict, settings=None, host=None) -> Doctor:
    """A Doctor whose hops are `checks` (name -> result string or exception)."""
    dn = SimpleNamespace(settings=settings, close=lambda: None, host=host, os=linux,
                         provider=SimpleNamespace(name="sim", has_vm=True,
                                                   tunnels=lambda: False,
                                                   reach=lambda: "route",
                                                   routes_itself=lambda: False))
    doc = Doctor(dn)

    def hop(name, outcome):
        def check():
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        return name, check, f"fix {name}"

    doc.hops = lambda: [hop(n, o) for n, o in checks.items()]
    return doc


def test_stops_at_the_first_failure_and_names_its_fix():
    doc = doctor_with({"VM running": "up", "route present and chosen": HopFailed(
        "172.17.0.1 goes via eth0"), "DNS answers": "ok", "no VPN rule blocks": "none",
        "no subnet overlap": "none"})
    hops = doc.run()
    # the causes were looked at, found fine, and so are not the hop at fault
    assert [h.status for h in hops] == ["ok", "FAIL", "not checked", "not checked",
                                        "not checked"]
    assert doc.at_fault(hops).name == "route present and chosen"
    assert hops[1].fix == "fix route present and chosen"


def test_a_failure_is_blamed_on_a_vpn_rule_found_later():
    doc = doctor_with({"VM running": "up", "a container answers TCP": OSError("timed out"),
                       "DNS answers": "ok",
                       "no VPN rule blocks": DevnetError("DROP 172.17.0.0/16 in OUTPUT"),
                       "no subnet overlap": "none"})
    hops = doc.run()
    tcp = hops[1]
    assert tcp.status == "FAIL" and "(cause: hop 'no VPN rule blocks')" in tcp.detail
    assert tcp.fix == "fix no VPN rule blocks"
    assert doc.at_fault(hops).name == "no VPN rule blocks"


def test_skipped_hops_and_the_table():
    hops = doctor_with({"a": "skipped: nothing to check", "b": "fine"}).run()
    assert [h.status for h in hops] == ["skip", "ok"]
    text = table([*hops, Hop("c", "FAIL", "broken", "invoke c.fix")])
    assert "1. skip" in text and "3. FAIL" in text and "fix: invoke c.fix" in text
    assert as_json(hops)[1] == {"name": "b", "status": "ok", "detail": "fine", "fix": ""}


DIG = "dig +short +time=1 +tries=2 @172.17.42.1 ns.docker"


@pytest.mark.parametrize("stdout, ok", [
    ("172.17.42.1\n", True),
    (";; communications error to 172.17.42.1#53: timed out\n"
     ";; no servers could be reached\n", False),  # dig 9.18's words when nothing answers
])
def test_the_dns_hop_reads_dig(settings, stdout, ok):
    host = MockContext(run={DIG: Result(stdout, exited=0 if ok else 9)})
    doc = doctor_with({}, settings=settings, host=host)
    if ok:
        assert doc.dns() == "172.17.42.1:53 answers"
    else:
        with pytest.raises(HopFailed, match="no answer from 172.17.42.1:53"):
            doc.dns()


def test_the_resolver_hop_reads_getent(settings):
    host = MockContext(run={"getent hosts ns.docker": Result("172.17.42.1     ns.docker\n")})
    assert "-> 172.17.42.1" in doctor_with({}, settings, host).resolver()
    host = MockContext(run={"getent hosts ns.docker": Result("", exited=2)})
    with pytest.raises(HopFailed, match="does not answer ns.docker"):
        doctor_with({}, settings, host).resolver()


def test_a_bug_in_a_check_is_not_a_failed_hop():
    doc = doctor_with({"VM running": AssertionError("a bug"), "b": "fine"})
    with pytest.raises(AssertionError, match="a bug"):
        doc.run()
