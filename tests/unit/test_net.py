import ipaddress
import json

import pytest

from devnet import config
from devnet.errors import ConfigError
from devnet.steps.net import check_overlaps
from tests.unit.conftest import fixture_text


def table(name):
    return json.loads(fixture_text(name))


def test_devnets_own_routes_are_no_conflict(settings):
    check_overlaps(settings, table("ip-route-devnet.json"))


def test_a_vpn_route_over_the_hostonly_network_is_refused_with_both_sides(settings):
    with pytest.raises(ConfigError) as err:
        check_overlaps(settings, table("ip-route-vpn.json"))
    text = str(err.value)
    assert ("Docker subnet 172.17.0.0/16 overlaps the host's route 172.16.0.0/12 via 10.8.0.1"
            in text)
    assert "host-only network 172.16.0.0/16 overlaps the host's route 172.16.0.0/12" in text
    assert "pick a free range, e.g." in text


def test_a_bridge_subnet_on_an_existing_lan_is_refused():
    s = config.load({"docker": {"subnets": ["192.168.50.0/24"], "bip": "192.168.50.1/24"}})
    with pytest.raises(ConfigError, match="192.168.50.0/24 overlaps the host's route 192.168.50.7"):
        check_overlaps(s, table("ip-route-vpn.json")[:3] + table("ip-route-vpn.json")[4:])


def test_the_suggestion_is_really_free(settings):
    with pytest.raises(ConfigError) as err:
        check_overlaps(settings, table("ip-route-vpn.json"))
    suggested = str(err.value).split("e.g. ")[1].split(",")[0]
    bip = str(next(ipaddress.ip_network(suggested).hosts())) + "/16"
    s = config.load({"docker": {"subnets": [suggested], "bip": bip},
                     "hostonly": {"network": "10.77.0.0/16",
                     "host_ip": "10.77.0.1", "vm_ip": "10.77.0.11"}})
    vpn_free = [r for r in table("ip-route-vpn.json") if r["dst"] != "172.16.0.0/16"]
    check_overlaps(s, vpn_free)
