"""The host's resolv.conf entry follows devnet's DNS health (resolvconf method): out while it
does not answer, first again when it does; the user's own lines never change."""

import pytest
from invoke import MockContext, Result

from devnet.core import Devnet
from devnet.host import resolver, resolver_health
from devnet.steps.resolver import DnsResolver
from devnet.system import cmd

ORIGINAL = "# the developer's machine\nsearch corp.example\noptions timeout:2\n" \
           "nameserver 10.0.0.138\n"
IP = "172.17.42.1"
WITH = resolver.with_devnet_first(ORIGINAL, IP, "docker")
OUT = resolver_health.taken_out(WITH, IP, "docker")


@pytest.fixture
def make(settings, monkeypatch):
    def make(text, answering=None, method="resolvconf"):
        """A Devnet whose host has `text` as resolv.conf; its DNS answers or not (None: the
        test expects no probe at all)."""
        dn = Devnet(settings, echo=lambda _: None)
        run = {"cat /etc/netns/dntest-host/resolv.conf": Result(text)}
        if answering is not None:
            probe = cmd(*resolver_health.probe_argv(dn))
            run[probe] = Result("answers\n" if answering else "timeout\n")
        host = MockContext(run=run, repeat=True)
        dn.provider.host = lambda: host
        if method:
            dn.journal.record("dns.resolver", method=method, previous=ORIGINAL)
        written = []
        monkeypatch.setattr(resolver_health, "_write", lambda _dn, t: written.append(t))
        return dn, written
    return make


def test_the_entry_goes_out_while_the_dns_does_not_answer(make):
    dn, written = make(WITH, answering=False)
    follower = resolver_health.Follower(dn)
    assert follower.round() is None and written == []  # one miss: maybe a VPN vpn.fix repairs
    assert "does not answer" in follower.round()
    assert written == [OUT]
    assert resolver.first_nameserver(OUT) == "10.0.0.138"
    assert OUT.endswith(ORIGINAL) and "options timeout:2" in OUT  # the user's lines, as they were


def test_one_answer_in_between_resets_the_count(make, monkeypatch):
    dn, written = make(WITH)
    follower = resolver_health.Follower(dn)
    for ok in (False, True, False):
        monkeypatch.setattr(resolver_health, "answers", lambda _dn, ok=ok: ok)
        assert follower.round() is None
    assert written == []


def test_it_comes_back_first_when_the_dns_answers(make):
    dn, written = make(OUT, answering=True)
    said = resolver_health.Follower(dn).round()
    assert "first in /etc/netns/dntest-host/resolv.conf again" in said
    assert written == [WITH]


@pytest.mark.parametrize("text, answering", [(OUT, False), (WITH, True)])
def test_nothing_changes_while_the_health_does_not(make, text, answering):
    dn, written = make(text, answering=answering)
    follower = resolver_health.Follower(dn)
    assert [follower.round() for _ in range(3)] == [None] * 3 and written == []


def test_a_resolv_conf_someone_else_rewrote_is_left_to_vpn_fix(make):
    dn, written = make("nameserver 10.8.0.1\n")  # a VPN's: no probe, no write
    assert resolver_health.Follower(dn).round() is None and written == []


@pytest.mark.parametrize("method", [None, "resolved", "resolverdir"])
def test_split_dns_methods_need_nothing(make, method):
    dn, written = make(WITH, method=method)  # MockContext: no command may run at all
    dn.provider.host = lambda: MockContext()
    assert resolver_health.Follower(dn).round() is None
    assert resolver_health.take_out(dn, "x") is None and written == []


def test_vm_halt_takes_it_out_at_once_and_dns_start_puts_it_back(make):
    dn, written = make(WITH)
    assert resolver_health.take_out(dn, "the VM is halting") == \
        f"took nameserver {IP} out of /etc/netns/dntest-host/resolv.conf (the VM is halting)"
    dn, written = make(OUT)
    assert "again" in resolver_health.put_back(dn) and written == [WITH]


def test_the_resolver_step_counts_out_as_done_only_while_the_dns_is_down(make, monkeypatch):
    """vpn.fix asks this check each net.watch round: it must not put a dead server first."""
    monkeypatch.setattr(DnsResolver, "method", lambda _self: "resolvconf")
    dn, _ = make(OUT, answering=False)
    assert "does not answer" in DnsResolver(dn).check()
    dn, _ = make(OUT, answering=True)
    assert DnsResolver(dn).check() is None  # `up` puts it back


def test_down_still_restores_the_file_exactly():
    assert resolver.without_devnet(OUT, IP) == ORIGINAL
