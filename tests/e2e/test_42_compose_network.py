"""A compose project on its own network (not the default bridge): its containers reach the
outside world's names and devnet's names through devnet, and the host reaches its service by
name. Before recursion followed Docker's networks, every outside name was REFUSED here."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.e2e import machine
from tests.e2e.machine import tcp_from_host, wait_for

pytestmark = pytest.mark.qemu_proves(
    "the DNS service's recursion for a compose network runs in the VM: the same in any VM")

PROJECT = "devnetproj"
COMPOSE = os.path.join(os.path.dirname(__file__), "compose-project.yml")


def compose(provider, *args: str) -> None:
    subprocess.run(["docker-compose", "-p", PROJECT, "-f", COMPOSE, *args], check=True,
                   capture_output=True, env=dict(os.environ, DOCKER_HOST=provider.docker_url()),
                   timeout=120)


@pytest.fixture(scope="module")
def watching(cli, devnet_up):
    """net.watch routes the project's network from the host (started here unless `up` did)."""
    started = "net.watch started" in cli("net.watch", "--background").stdout
    yield
    if started:
        cli("net.watch", "--stop")


@pytest.fixture(scope="module")
def project(provider, docker_client, test_image, watching):
    compose(provider, "up", "-d")
    try:
        found = {}
        for c in docker_client.containers.list(
                filters={"label": f"com.docker.compose.project={PROJECT}"}):
            net = c.attrs["NetworkSettings"]["Networks"][f"{PROJECT}_app"]
            found[c.attrs["Config"]["Hostname"]] = (c, net["IPAddress"])
        subnet = docker_client.networks.get(f"{PROJECT}_app").attrs["IPAM"]["Config"][0]["Subnet"]
        yield {"subnet": subnet, **found}
    finally:
        compose(provider, "down", "-v", "-t", "1")


def nslookup(container, name: str) -> str:
    # Type A only: the sim's upstream (dnsmasq with --address) REFUSES AAAA for its test zone.
    return container.exec_run(["nslookup", "-type=a", name]).output.decode()


def test_the_project_has_a_network_of_its_own(project):
    assert project["subnet"] != "172.17.0.0/16"
    assert project["web"][1].startswith(project["subnet"].split(".0.0/")[0] + ".")


def test_its_containers_resolve_outside_names(project):
    client = project["client"][0]
    # Docker's embedded DNS forwards to devnet from the client's own address on the network.
    assert "nameserver 127.0.0.11" in client.exec_run("cat /etc/resolv.conf").output.decode()
    out = ""

    def answered():
        nonlocal out
        out = nslookup(client, "www.example.test")
        return "192.0.2.10" in out

    try:
        wait_for(answered, timeout=5, pause=0.2)
    except AssertionError:
        raise AssertionError(f"nslookup www.example.test from the project's network:\n"
                             f"{out}") from None
    assert "REFUSED" not in out, out


@pytest.mark.route_only("containers ask devnet's DNS through dockerd's --dns, which "
                        "docker.configure sets over SSH; a Desktop VM's engine settings are "
                        "its user's (Settings -> Docker Engine)")
def test_its_containers_resolve_devnet_names(project, walk_ips):
    client, web_ip = project["client"][0], project["web"][1]
    assert web_ip in nslookup(client, f"web.{PROJECT}.docker")
    assert walk_ips["pu1"] in nslookup(client, "pu1.ubuntu.dev.docker")  # on docker0


@pytest.fixture(scope="module")
def walk_ips(docker_client, test_image):
    c = docker_client.containers.run("ubuntu", "sleep 3600", name="pu1", hostname="pu1",
                                     detach=True)
    try:
        c.reload()
        yield {"pu1": c.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]}
    finally:
        c.remove(force=True)


def test_the_host_reaches_its_service_by_name(provider, project):
    web_ip, name = project["web"][1], f"web.{PROJECT}.docker"
    assert machine.dig(provider.host_ns, name) == [web_ip]
    assert machine.on_host(provider.host_ns, "getent", "hosts", name).split()[0] == web_ip
    wait_for(lambda: tcp_from_host(provider.host_ns, web_ip, timeout=0.5).stdout ==
             "hello from web\nping\n", timeout=10)
    reply = subprocess.run(["ip", "netns", "exec", provider.host_ns, "nc", "-N", "-w", "3",
                            name, "7777"], input="by name\n", capture_output=True, text=True,
                           timeout=10).stdout
    assert reply == "hello from web\nby name\n"


def test_a_removed_network_is_trusted_no_more(provider, project, cli):
    def recursion() -> list[str]:
        return machine.dns_status(provider).get("recursion", [])

    def settles(trusted: bool) -> None:
        # the registrar follows network events asynchronously: give it 5 s, then show why
        deadline = time.monotonic() + 5
        while (project["subnet"] in recursion()) != trusted and time.monotonic() < deadline:
            time.sleep(0.1)
        if (project["subnet"] in recursion()) != trusted:
            raise AssertionError(f"{project['subnet']} {'not ' if trusted else ''}trusted\n"
                                 f"{machine.dns_evidence(provider, cli)}")

    settles(True)
    compose(provider, "down", "-v", "-t", "1")
    settles(False)
    assert "172.16.0.0/16" in recursion() and "172.17.0.0/16" in recursion()
