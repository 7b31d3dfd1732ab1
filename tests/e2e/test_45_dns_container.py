"""The DNS service as a container (devnet.dns.runtime container: boot2docker's and
docker-machine's way, their VMs have no Python), end to end on the sim: the image is built by
the VM's dockerd from an offline Python base image (this machine's python3, `docker import`ed:
no registry here) and devnet's code; real dig and getent on the simulated host; switching back
to the process leaves no container behind."""

import pytest

from devnet import python_image
from devnet.dns import container
from tests.e2e import machine
from tests.e2e.machine import Cli, wait_for

pytestmark = pytest.mark.sim_only(
    "the DNS container's image build is minutes under TCG; the sim proves the runtime")


@pytest.fixture(scope="module")
def as_container(cli, docker_client, devnet_up, test_image):
    print(python_image.ensure(docker_client))
    boxed = Cli(cli.instance, {"INVOKE_DEVNET_DNS_RUNTIME": "container",
                               "INVOKE_DEVNET_DNS_IMAGE": python_image.TAG})
    try:
        yield boxed, boxed("dns.start").stdout
    finally:
        cli("dns.start")  # back to the supervised process for the modules after this one


@pytest.fixture(scope="module")
def c1(docker_client, as_container):
    made = docker_client.containers.run("ubuntu", "nc -ll -p 7777 -e /bin/echo-server",
                                        name="c1", hostname="c1", detach=True)
    try:
        made.reload()
        yield made.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
    finally:
        made.remove(force=True)


def test_dns_start_builds_and_runs_the_container(as_container, docker_client):
    _, said = as_container
    assert "done   dns.start" in said and f"as container {container.NAME}" in said, said
    state = docker_client.containers.get(container.NAME).attrs
    assert state["State"]["Running"] and state["HostConfig"]["NetworkMode"] == "host"
    assert state["HostConfig"]["RestartPolicy"]["Name"] == "always"


def test_names_resolve_from_the_host(provider, c1):
    def answers():
        return machine.dig(provider.host_ns, "c1.ubuntu.dev.docker") == [c1]

    wait_for(answers, timeout=5)
    assert machine.on_host(provider.host_ns, "getent", "hosts", "c1.ubuntu.dev.docker"
                           ).split()[:1] == [c1]
    assert machine.dig(provider.host_ns, "example.test") == ["192.0.2.10"]  # upstream


def test_a_second_start_changes_nothing(as_container):
    boxed, _ = as_container
    assert "skip   dns.start" in boxed("dns.start").stdout


def test_dns_status_and_logs_read_the_container(as_container):
    boxed, _ = as_container
    assert "serving .docker on 172.17.42.1:53" in boxed("dns.status").stdout
    assert "serving docker on 172.17.42.1:53" in boxed("dns.logs").stdout


def test_back_to_the_process_removes_the_container(cli, as_container, docker_client, c1,
                                                   provider):
    said = cli("dns.start").stdout
    assert "done   dns.start" in said and "supervised process" in said
    assert container.NAME not in [c.name for c in docker_client.containers.list(all=True)]
    wait_for(lambda: machine.dig(provider.host_ns, "c1.ubuntu.dev.docker") == [c1], timeout=5)
