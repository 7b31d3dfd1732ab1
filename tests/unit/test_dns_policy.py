"""Who may recurse: the configured networks, loopback, and Docker's bridge networks as the
registrar reads them from Docker (`docker network ls` JSON from a compose project, saved)."""

import copy
import logging

import dns.flags
import dns.message
import dns.rcode
import pytest

from devnet.dns.names import Naming
from devnet.dns.policy import RecursionPolicy, bridge_subnets
from devnet.dns.registrar import Registrar
from devnet.dns.server import Server
from devnet.dns.upstream import Upstream
from devnet.dns.zone import Zone
from tests.unit.conftest import fixture_json

CONFIGURED = ["172.16.0.0/16", "172.17.0.0/16"]
COMPOSE_CLIENT = "172.18.0.3"  # a container of the compose project's network


@pytest.fixture
def networks():
    return fixture_json("docker-networks-compose.json")


def test_bridge_subnets_are_every_bridge_network(networks):
    assert bridge_subnets(networks) == ["172.17.0.0/16", "172.18.0.0/16"]  # not host, none


def test_macvlan_subnets_are_not_trusted(networks):
    lan = copy.deepcopy(networks[2])
    lan["Driver"], lan["IPAM"]["Config"] = "macvlan", [{"Subnet": "192.168.1.0/24"}]
    assert "192.168.1.0/24" not in bridge_subnets([*networks, lan])


def test_docker_networks_are_trusted_while_they_exist(networks):
    policy = RecursionPolicy(CONFIGURED)
    memo = policy.memo
    assert policy.allows("172.16.0.1") and policy.allows("127.0.0.1")
    assert not policy.allows(COMPOSE_CLIENT)
    assert policy.set_docker(bridge_subnets(networks)) is True
    assert policy.allows(COMPOSE_CLIENT)
    assert policy.set_docker(bridge_subnets(networks)) is False  # nothing changed
    assert policy.networks == [*CONFIGURED, "172.18.0.0/16"]  # docker0's subnet once
    assert policy.set_docker(["172.17.0.0/16"]) is True  # the project went
    assert not policy.allows(COMPOSE_CLIENT)
    assert policy.memo is memo  # cleared in place: the UDP loop holds this dict


def ask(server, name, ip):
    q = dns.message.make_query(name, "A")
    return dns.message.from_wire(server.answer(q.to_wire(), ip))


def test_the_server_follows_the_policy(networks):
    zone = Zone(Naming(), 30, "172.17.42.1", ["172.17.0.0/16"])
    policy = RecursionPolicy(CONFIGURED)
    server = Server(zone, Upstream([]), policy, workers=1)
    assert server.policy is policy
    assert ask(server, "www.example.test", COMPOSE_CLIENT).rcode() == dns.rcode.REFUSED
    assert not ask(server, "ns.docker", COMPOSE_CLIENT).flags & dns.flags.RA
    policy.set_docker(bridge_subnets(networks))
    forwarded = ask(server, "www.example.test", COMPOSE_CLIENT)
    assert forwarded.rcode() == dns.rcode.SERVFAIL  # forwarded: no upstream in this test
    assert ask(server, "ns.docker", COMPOSE_CLIENT).flags & dns.flags.RA


class FakeApi:
    def __init__(self, networks):
        self.listing = networks

    def networks(self):
        return self.listing


class FakeClient:
    def __init__(self, networks):
        self.api = FakeApi(networks)
        self.api.inspect_container = lambda cid: fixture_json("inspect-compose.json")[0]


def event(action, name):
    return {"Type": "network", "Action": action,
            "Actor": {"ID": "f00", "Attributes": {"name": name, "type": "bridge"}}}


def test_the_registrar_follows_network_events(networks):
    policy = RecursionPolicy(CONFIGURED)
    reg = Registrar(Zone(Naming(), 30, "172.17.42.1", []), Naming(), "unix:///nowhere", policy)
    client = FakeClient(networks)
    reg.handle(client, event("create", "devnetproj_app"))
    assert policy.allows(COMPOSE_CLIENT)
    assert "network create devnetproj_app" in reg.last_event
    client.api.listing = [n for n in networks if n["Name"] != "devnetproj_app"]
    reg.handle(client, event("destroy", "devnetproj_app"))
    assert not policy.allows(COMPOSE_CLIENT)


def test_a_container_on_an_unknown_network_makes_the_registrar_read_them_again(networks,
                                                                               caplog):
    """The network's create event unseen (stop 21's CI: a compose network never trusted):
    its first container's start reads Docker's networks again."""
    policy = RecursionPolicy(CONFIGURED)
    reg = Registrar(Zone(Naming(), 30, "172.17.42.1", []), Naming(), "unix:///nowhere", policy)
    client = FakeClient(networks)
    caplog.set_level(logging.INFO, logger="devnet.dns.registrar")
    reg.handle(client, {"Type": "container", "Action": "start", "Actor": {"ID": "c0ffee"}})
    assert policy.allows(COMPOSE_CLIENT)
    assert "172.18.0.2 was in none known" in caplog.text
    listed = []
    client.api.networks = lambda: listed.append(1) or networks
    reg.handle(client, {"Type": "container", "Action": "start", "Actor": {"ID": "c0ffee"}})
    assert not listed  # known now: no listing per event
