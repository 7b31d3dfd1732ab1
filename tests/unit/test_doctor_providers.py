"""invoke doctor for every provider: which hops run and which are skipped, with why; and the
probes each OS needs (macOS: ping -W in milliseconds, dscacheutil instead of getent), fed
the tools' own output."""

from types import SimpleNamespace

import pytest
from invoke import MockContext, Result

from devnet import providers
from devnet.doctor import Doctor, HopFailed
from devnet.host import linux, macos
from tests.unit.conftest import fixture_text

ALL = ["VM running", "host-only IP answers", "route present and chosen",
       "a container answers TCP", "dockerd has devnet's bip and dns",
       "DNS answers on 172.17.42.1",
       "a record for a running container", "host resolver sends .docker to devnet",
       "no VPN rule blocks", "no subnet overlap"]
NO_VM = "has no VM, so no host-only network"
OWN_LINKS = "the containers' bridges are this machine's own links, no route"
ON_HOST = "provider guest runs inside the VM; run invoke doctor on the host"
APP_OWN = "the VM's engine settings are its app's own"
# provider -> {hop: a words of why it is skipped}; every other hop runs.
SKIPS = {
    "sim": {}, "qemu": {}, "vagrant": {}, "boot2docker": {}, "docker-machine": {},
    "colima": {},
    # tunnel reach: the VM's end of the tunnel holds the host-only VM address and the route
    # goes via it; only the engine's settings are the Desktop app's, not devnet's to check
    "desktop": {"dockerd has devnet's bip and dns": APP_OWN},
    "sim-desktop": {"dockerd has devnet's bip and dns": APP_OWN},
    # native reach: OrbStack's own route (probed by the route hop) and engine settings
    "orbstack": {"host-only IP answers": "routes to its containers itself",
                 "dockerd has devnet's bip and dns": "the engine's settings are its app's own",
                 "no subnet overlap": "the Docker subnets' routes are its own"},
    "local": {"host-only IP answers": NO_VM, "route present and chosen": OWN_LINKS},
    "guest": {"route present and chosen": ON_HOST, "no VPN rule blocks": ON_HOST,
              "host resolver sends .docker to devnet": ON_HOST},
}


def test_every_provider_has_its_row():
    assert set(SKIPS) == set(providers.REGISTRY)


@pytest.mark.parametrize("name", sorted(providers.REGISTRY))
def test_which_hops_run_and_which_skip(settings, name):
    provider = providers.provider_class(name)(settings)
    dn = SimpleNamespace(settings=settings, provider=provider, close=lambda: None)
    doc = Doctor(dn)
    ran = []

    def passing(hop):
        return lambda: ran.append(hop) or "fine"

    doc.hops = lambda: [(hop, passing(hop), "fix") for hop in ALL]
    hops = doc.run()
    assert [h.name for h in hops] == ALL
    assert ran == [h for h in ALL if h not in SKIPS[name]]
    for hop in hops:
        if hop.name in SKIPS[name]:
            assert hop.status == "skip" and SKIPS[name][hop.name] in hop.detail, hop
        else:
            assert (hop.status, hop.detail) == ("ok", "fine")


def test_a_failure_is_not_blamed_on_a_skipped_cause(settings):
    """guest skips the VPN hop: a failing DNS hop is not explained by a check never run."""
    dn = SimpleNamespace(settings=settings, close=lambda: None,
                         provider=providers.provider_class("guest")(settings))
    doc = Doctor(dn)
    calls = []

    def fails():
        raise HopFailed("no answer")

    def vpn():
        calls.append("vpn")
        raise HopFailed("DROP")

    doc.hops = lambda: [("DNS answers on 172.17.42.1", fails, "invoke dns.start"),
                        ("no VPN rule blocks", vpn, "invoke vpn.fix")]
    hops = doc.run()
    assert calls == [] and hops[0].fix == "invoke dns.start"
    assert hops[1].status == "skip"


def host_doctor(settings, os, run):
    dn = SimpleNamespace(settings=settings, close=lambda: None, os=os,
                         host=MockContext(run=run), gateway="172.16.0.11",
                         provider=SimpleNamespace(name="vagrant", has_vm=True,
                                                  reach=lambda: "route",
                                                  routes_itself=lambda: False))
    return Doctor(dn)


@pytest.mark.parametrize("os, line", [(linux, "ping -c1 -W1 172.16.0.11"),
                                      (macos, "ping -c1 -W1000 172.16.0.11")])
def test_the_hostonly_hop_pings_with_the_os_own_wait_unit(settings, os, line):
    assert host_doctor(settings, os, {line: Result("")}).hostonly() == "172.16.0.11 answers ping"
    with pytest.raises(HopFailed, match="does not answer ping"):
        host_doctor(settings, os, {line: Result("", exited=2)}).hostonly()


def test_the_resolver_hop_on_macos_asks_dscacheutil(settings):
    line = "dscacheutil -q host -a name ns.docker"
    found = fixture_text("macos/dscacheutil-q-host.txt")
    doc = host_doctor(settings, macos, {line: Result(found)})
    assert doc.resolver() == f"{line} -> 172.17.42.1"
    # dscacheutil prints nothing (and exits 0) for a name it cannot resolve
    with pytest.raises(HopFailed, match="does not answer ns.docker"):
        host_doctor(settings, macos, {line: Result("")}).resolver()


def test_lookup_parsers():
    assert linux.parse_lookup("172.17.42.1     ns.docker\n") == ["172.17.42.1"]
    assert macos.parse_lookup(fixture_text("macos/dscacheutil-q-host.txt")) == [
        "172.17.42.1"]
    assert macos.parse_lookup("name: localhost\nipv6_address: ::1\n\n"
                              "name: localhost\nip_address: 127.0.0.1\n") == [
        "::1", "127.0.0.1"]


@pytest.mark.parametrize("name, words", [
    ("sim", "invoke docker.configure"), ("vagrant", "invoke docker.configure"),
    ("boot2docker", "/var/lib/boot2docker/profile's EXTRA_ARGS"),
    ("docker-machine", "docker-machine provision/regenerate-certs rewrite"),
    ("colima", "colima.yaml's docker section"),
])
def test_the_dockerd_hop_names_the_providers_own_fix(settings, name, words):
    """After a VM restart lost devnet's bip/dns, doctor says how this provider keeps them."""
    dn = SimpleNamespace(settings=settings, provider=providers.provider_class(name)(settings))
    fixes = {hop: fix for hop, _, fix in Doctor(dn).hops()}
    assert words in fixes["dockerd has devnet's bip and dns"]
