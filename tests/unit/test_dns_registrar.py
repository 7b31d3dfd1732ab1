"""The registrar against a stand-in Docker client serving real `docker inspect` JSON: resync,
each event kind, removal, invalid names, and the first failed connection logged."""

import copy
import logging
import threading

import docker.errors
import pytest

from devnet.dns.names import Naming
from devnet.dns.registrar import Registrar
from devnet.dns.zone import Zone
from tests.unit.conftest import fixture_json


class FakeDocker:
    """The two calls the registrar makes: api.containers() (running ones, as `GET
    /containers/json` lists them) and api.inspect_container()."""

    def __init__(self, *inspects):
        self.data = {i["Id"]: i for i in inspects}
        self.api = self

    def containers(self):
        return [{"Id": cid, "Names": [i["Name"]]} for cid, i in self.data.items()
                if i["State"]["Running"]]

    def inspect_container(self, cid):
        if cid not in self.data:
            raise docker.errors.NotFound(f"No such container: {cid}")
        return self.data[cid]


class Counting(FakeDocker):
    def __init__(self, *inspects):
        super().__init__(*inspects)
        self.inspected = 0

    def inspect_container(self, cid):
        self.inspected += 1
        return super().inspect_container(cid)


def event(action, cid, kind="container"):
    """Shaped as `docker events --format '{{json .}}'` prints them (Docker 20+)."""
    if kind == "network":
        return {"Type": "network", "Action": action, "Actor": {
            "ID": "netid", "Attributes": {"container": cid, "name": "bridge"}}}
    return {"status": action, "id": cid, "Type": "container", "Action": action,
            "Actor": {"ID": cid, "Attributes": {"name": "u1"}}, "scope": "local"}


@pytest.fixture
def u1():
    return copy.deepcopy(fixture_json("inspect-u1.json")[0])


@pytest.fixture
def zone():
    return Zone(Naming(), 30, "172.17.42.1", ["172.17.0.0/16"])


def test_resync_registers_every_running_container(zone, u1):
    compose = fixture_json("inspect-compose.json")[0]
    stopped = copy.deepcopy(u1)
    stopped["Id"], stopped["State"]["Running"] = "stopped", False
    client = Counting(u1, compose, stopped)
    Registrar(zone, Naming(), "unix:///x").resync(client)
    assert zone.container_ids() == {u1["Id"], compose["Id"]}
    assert client.inspected == 2  # one inspect each, the list from the API's own listing


def test_start_die_and_destroy_events(zone, u1):
    client, reg = FakeDocker(u1), Registrar(zone, Naming(), "unix:///x")
    reg.handle(client, event("start", u1["Id"]))
    assert zone.container_ids() == {u1["Id"]} and "start" in reg.last_event
    u1["State"]["Running"] = False
    reg.handle(client, event("die", u1["Id"]))
    assert not zone.container_ids()
    u1["State"]["Running"] = True
    reg.handle(client, event("start", u1["Id"]))
    del client.data[u1["Id"]]
    reg.handle(client, event("destroy", u1["Id"]))  # gone from the daemon: NotFound
    assert not zone.container_ids()


def test_network_connect_re_reads_a_running_container(zone, u1):
    """`docker network connect` of a running container: its new address is read."""
    client, reg = Counting(u1), Registrar(zone, Naming(), "unix:///x")
    reg.resync(client)
    before = zone.records
    u1["NetworkSettings"]["Networks"]["compose_default"] = {"IPAddress": "172.18.0.7"}
    reg.handle(client, event("connect", u1["Id"], kind="network"))
    assert client.inspected == 2 and zone.records > before  # its names, one address more


def test_docker_run_is_read_once_at_its_start(zone, u1):
    """`docker run` emits connect, then start: only the start asks dockerd (the connect's
    inspect found it not running yet and delayed the start's answer)."""
    client, reg = Counting(u1), Registrar(zone, Naming(), "unix:///x")
    reg.handle(client, event("connect", u1["Id"], kind="network"))
    assert client.inspected == 0 and not zone.container_ids()
    reg.handle(client, event("start", u1["Id"]))
    assert client.inspected == 1 and zone.container_ids() == {u1["Id"]}


def test_kill_changes_nothing_until_the_container_dies(zone, u1):
    """`docker kill` or `docker stop`: kill only sends a signal (inspecting then waited on
    dockerd tearing the container down, and the next start's event waited behind it)."""
    client, reg = Counting(u1), Registrar(zone, Naming(), "unix:///x")
    reg.handle(client, event("start", u1["Id"]))
    reg.handle(client, event("kill", u1["Id"]))
    assert client.inspected == 1 and zone.container_ids() == {u1["Id"]}
    for action in ("die", "stop", "destroy"):
        reg.handle(client, event(action, u1["Id"]))
    assert client.inspected == 1 and not zone.container_ids()


def test_a_container_that_died_goes_without_asking_dockerd(zone, u1):
    client, reg = Counting(u1), Registrar(zone, Naming(), "unix:///x")
    reg.handle(client, event("start", u1["Id"]))
    reg.handle(client, event("die", u1["Id"]))  # dockerd would still say running here
    assert client.inspected == 1 and not zone.container_ids() and not reg.running
    reg.handle(client, event("connect", u1["Id"], kind="network"))  # a restart's connect
    assert client.inspected == 1 and not zone.container_ids()


def test_docker_rm_f_is_forgotten_without_asking_dockerd(zone, u1):
    """`docker rm -f`: kill, die, then the network disconnect of a container already
    forgotten (its inspect waited on dockerd's teardown, 10-13 ms, and the next container's
    start event waited behind it), then destroy."""
    client, reg = Counting(u1), Registrar(zone, Naming(), "unix:///x")
    reg.handle(client, event("start", u1["Id"]))
    for action, kind in (("kill", "container"), ("die", "container"),
                         ("disconnect", "network"), ("destroy", "container")):
        reg.handle(client, event(action, u1["Id"], kind=kind))
    assert client.inspected == 1 and not zone.container_ids()


def test_network_disconnect_of_a_running_container_is_read(zone, u1):
    """`docker network disconnect` while it runs: its address on that network goes."""
    u1["NetworkSettings"]["Networks"]["compose_default"] = {"IPAddress": "172.18.0.7"}
    client, reg = Counting(u1), Registrar(zone, Naming(), "unix:///x")
    reg.handle(client, event("start", u1["Id"]))
    before = zone.records
    del u1["NetworkSettings"]["Networks"]["compose_default"]
    reg.handle(client, event("disconnect", u1["Id"], kind="network"))
    assert client.inspected == 2 and zone.records < before


def test_other_events_are_ignored(zone, u1):
    reg = Registrar(zone, Naming(), "unix:///x")
    for e in (event("exec_start: sh", u1["Id"]), event("create", u1["Id"]),
              {"Type": "image", "Action": "pull", "id": "busybox"}, event("start", "")):
        reg.handle(FakeDocker(u1), e)
    assert not zone.container_ids() and zone.generation == 0


def test_names_that_are_not_dns_are_logged(zone, u1, caplog):
    u1["Config"]["Labels"] = {"devnet.dns.aliases": "ok-alias," + "x" * 70}
    with caplog.at_level(logging.WARNING, logger="devnet.dns.registrar"):
        Registrar(zone, Naming(), "unix:///x").handle(FakeDocker(u1), event("start", u1["Id"]))
    assert "not valid DNS names" in caplog.text and "x" * 70 in caplog.text


def test_the_first_failure_to_reach_dockerd_is_logged(zone, caplog, tmp_path):
    reg = Registrar(zone, Naming(), f"unix://{tmp_path}/no-docker.sock")
    with caplog.at_level(logging.WARNING, logger="devnet.dns.registrar"):
        t = threading.Thread(target=reg.run, daemon=True)
        t.start()
        for _ in range(100):
            if "cannot read dockerd" in caplog.text:
                break
            threading.Event().wait(0.02)
        reg.stopping.set()
        t.join(5)
    assert "cannot read dockerd at unix://" in caplog.text and "no-docker.sock" in caplog.text
    assert caplog.text.count("cannot read dockerd") == 1  # the retries stay quiet
    assert not reg.connected and not t.is_alive()
