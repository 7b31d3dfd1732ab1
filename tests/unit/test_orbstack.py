"""OrbStack (provider orbstack, reach native): devnet adds only what OrbStack lacks. `up`
probes the reach OrbStack gives and says it is OrbStack's (net.route adds nothing), runs its
own DNS service as a container and the resolver for its domain; the SSH and host-only steps,
the tunnel and net.watch's routes are not in its plan."""

from pathlib import Path
from types import SimpleNamespace

import pytest
from invoke import MockContext, Result

from devnet import config, providers, steps, workflow
from devnet.doctor import Doctor
from devnet.errors import DevnetError
from devnet.host import macos
from devnet.steps.net import NetRoute
from devnet.steps.tunnel_dns import TunnelDns

# `route -n get` as macOS prints it (a route that is not devnet's: devnet never adds one here)
ROUTE_GET = (Path(__file__).parent / "fixtures/macos/route-get-172.17.0.8.txt").read_text()


def settings(tmp_path, **tree):
    return config.load({"instance": "ob", "state_dir": str(tmp_path), "provider": "orbstack",
                        **tree})


class FakeClient:
    def __init__(self, running):
        self.containers = SimpleNamespace(list=lambda: running)

    def close(self):
        pass


def container(name, ip):
    return SimpleNamespace(name=name, attrs={"NetworkSettings": {"Networks": {
        "bridge": {"IPAddress": ip}}}})


def orb_dn(tmp_path, host, running=()):
    s = settings(tmp_path)
    p = providers.get(s)
    p.docker_client = lambda timeout=30: FakeClient(list(running))
    return SimpleNamespace(settings=s, provider=p, host=host, os=macos, gateway=s.vm_ip)


def test_orbstack_reaches_natively_and_nothing_else():
    p = providers.get(config.load({"provider": "orbstack"}))
    assert p.reach() == "native"
    with pytest.raises(DevnetError, match="not possible with provider orbstack"):
        providers.get(config.load({"provider": "orbstack", "reach": "tunnel"})).check_reach()
    with pytest.raises(DevnetError, match="adds no tunnel"):
        p.tunnel_dial()


def test_up_on_orbstack_adds_only_names_and_the_resolver():
    names = [S.name for S in steps.up_steps(reach="native")]
    assert names == ["vm.init", "vm.up", "net.route", "tunnel.dns", "dns.resolver"]
    route_only = [S.name for S in steps.up_steps(reach="route")]
    assert "tunnel.dns" not in route_only and "vm.hostonly" in route_only


def test_net_route_probes_a_container_and_says_the_reach_is_orbstacks(tmp_path):
    host = MockContext(run={"route -n get 172.17.0.8": Result(ROUTE_GET),
                            "ping -c1 -W1000 172.17.0.8": Result("1 packets received\n")})
    dn = orb_dn(tmp_path, host, [container("web", "172.17.0.8")])
    said = NetRoute(dn).check()
    assert said == ("provided by orbstack: 172.17.0.8 (container web) answers ping, "
                    "dev vboxnet0 via 172.16.0.11")


def test_without_a_container_the_bridges_address_is_probed(tmp_path):
    host = MockContext(run={"route -n get 172.17.42.1": Result(ROUTE_GET),
                            "ping -c1 -W1000 172.17.42.1": Result("")})
    said = NetRoute(orb_dn(tmp_path, host)).check()
    assert said.startswith("provided by orbstack: 172.17.42.1 (the bridge's address) answers")


def test_a_silent_reach_is_blamed_with_its_evidence_and_nothing_is_added(tmp_path):
    host = MockContext(run={"route -n get 172.17.0.8": Result(ROUTE_GET),
                            "ping -c1 -W1000 172.17.0.8": Result("", exited=2)})
    dn = orb_dn(tmp_path, host, [container("web", "172.17.0.8")])
    with pytest.raises(DevnetError, match=r"172.17.0.8 \(container web, in 172.17.0.0/16\) "
                                          r"does not answer ping; the host sends it dev "
                                          r"vboxnet0 via 172.16.0.11. devnet adds no route"):
        NetRoute(dn).check()
    # MockContext refuses any command it was not given: no `route add` was run


def test_the_dns_container_runs_on_orbstack(tmp_path):
    dn = orb_dn(tmp_path, MockContext())
    dn.provider.docker_answers = lambda: False  # (the plan, without asking Docker)
    assert TunnelDns(dn).check() is None
    assert "--network host --restart always devnet/dns" in TunnelDns(dn).plan()[0]


def test_doctor_skips_what_orbstack_does_itself(tmp_path):
    skipped = Doctor(orb_dn(tmp_path, MockContext())).skipped()
    assert "routes to its containers itself" in skipped["host-only IP answers"]
    assert "engine's settings are its app's own" in skipped["dockerd has devnet's bip and dns"]
    assert "routes are its own" in skipped["no subnet overlap"]


def test_preflight_takes_orbstacks_routes_for_its_reach_not_an_overlap(tmp_path):
    dn = orb_dn(tmp_path, MockContext())  # any command (a route listing) would be refused
    dn.provider.docker_answers = lambda: True
    dn.provider.host_exists = lambda: True
    workflow.preflight(dn)
    assert dn.provider.gateway() is None  # vpn.fix puts back no route: none is devnet's
