"""net.watch routes only private Docker networks that shadow none of the host's routes (a
VPN's own table included), and says why once when it refuses."""

import pytest

from devnet import config, subnets, watch, workflow
from devnet.core import Devnet
from devnet.errors import ConfigError
from devnet.paths import PROJECT_DIR
from devnet.steps.net import NetRoute
from devnet.steps.net_watch import NetNetwork, NetWatch
from tests.unit.test_policy_routing import devnet_on, linux_host, ran


@pytest.mark.parametrize("net, private", [
    ("10.1.0.0/16", True), ("172.18.0.0/16", True), ("192.168.5.0/24", True),
    ("fd00:dead::/64", True),
    ("198.51.100.0/24", False), ("8.8.8.0/24", False), ("172.32.0.0/16", False),
    ("100.64.0.0/10", False),  # RFC 6598: the carrier's NAT, Tailscale's addresses
    ("2001:db8::/64", False), ("0.0.0.0/0", False),
])
def test_only_private_ranges_may_go_through_the_vm(net, private):
    assert (subnets.not_private(net) is None) is private


def test_a_public_docker_subnet_in_the_settings_is_refused_before_anything_changes():
    with pytest.raises(ConfigError, match=r"subnets\[0\]: 198.51.100.0/24 is not a private"):
        config.load({"docker": {"subnets": ["198.51.100.0/24"], "bip": "198.51.100.1/24"}})


def watcher_on(settings, case, networks, monkeypatch):
    c = linux_host(case)
    dn = devnet_on(settings, c)
    monkeypatch.setattr(watch, "docker_networks", lambda _: networks)
    said = []
    return watch.Watcher(dn, log=said.append), said, c


def test_a_public_network_is_refused_with_one_clear_line_and_no_route(settings, monkeypatch):
    watcher, said, c = watcher_on(settings, "wg-quick", {"198.51.100.0/24": "pubnet"},
                                  monkeypatch)
    watcher.sync_networks()
    watcher.sync_networks()  # every round: refused again, said once
    assert said == ["refused: Docker network pubnet: 198.51.100.0/24 is not a private range "
                    "(devnet routes only 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 and "
                    "fc00::/7 through the VM); the host keeps routing it as before. Recreate "
                    "the network on a free private range, e.g. 172.18.0.0/16"]
    assert not any("route add" in line or "route replace" in line for line in ran(c))
    assert watcher.dn.journal.entries() == []


def test_a_network_under_a_vpns_own_table_route_is_refused(settings, monkeypatch):
    watcher, said, c = watcher_on(settings, "tailscale", {"172.30.0.0/16": "corpnet"},
                                  monkeypatch)
    watcher.sync_networks()
    assert said[0].startswith("refused: Docker network corpnet: 172.30.0.0/16 would shadow the "
                              "host's route 172.16.0.0/12 dev tailscale0 table 52;")
    assert watcher.dn.journal.entries() == []


def test_a_full_tunnels_default_route_is_no_clash(settings):
    dn = devnet_on(settings, linux_host("wg-quick"))
    assert watch.refusal(dn, "10.50.0.0/16") is None  # default via wg0 in table 51820
    assert watch.refusal(dn, "192.168.1.128/25") == \
        "192.168.1.128/25 would shadow the host's route 192.168.1.0/24 dev eth0"


def test_watch_is_on_by_default_in_the_settings_and_in_invoke_yaml():
    assert config.load({}).watch is True
    lines = (PROJECT_DIR / "invoke.yaml").read_text().splitlines()
    assert "  watch: true" in lines and "  watch: false" not in lines


def test_down_stops_net_watch_before_it_undoes_anything(settings, monkeypatch):
    """The watcher's own entries come after net.watch's in the journal (it routed a Docker
    network): down still stops it first, so it cannot put that route back."""
    dn = Devnet(settings, echo=lambda _: None)
    order = []
    for step in (NetWatch, NetNetwork, NetRoute):
        monkeypatch.setattr(step, "undo", lambda self, args: order.append(self.name) or "ok")
    monkeypatch.setattr(type(dn.provider), "host_exists", lambda self: True)
    dn.journal.record("net.route", dst="172.17.0.0/16", via="172.16.0.11")
    dn.journal.record("net.watch")
    dn.journal.record("net.network", dst="172.30.0.0/16", via="172.16.0.11")
    workflow.down(dn)
    assert order == ["net.watch", "net.network", "net.route"]
    assert dn.journal.entries() == []
