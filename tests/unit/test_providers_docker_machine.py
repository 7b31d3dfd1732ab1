"""provider docker-machine: its commands through MockContext, and what `docker-machine status`,
`ip`, `env --shell bash` and `inspect` print."""

import json

import pytest
from invoke import Result

from devnet.errors import DevnetError
from devnet.providers.cli.docker_machine import DockerMachineProvider
from devnet.providers.cli.ssh_target import SshTarget
from tests.unit.test_providers_remote import FakeTarget, failed, fixture, local, ran, settings

CREATE = "docker-machine create -d virtualbox --virtualbox-hostonly-cidr 172.16.0.1/16 devnet"


def machine(run: dict, **options) -> DockerMachineProvider:
    s = settings(provider="docker-machine", docker_machine=options)
    return DockerMachineProvider(s, local=local(run))


def test_create_asks_virtualbox_for_devnets_host_only_network():
    assert machine({}).plan_create() == [CREATE]
    # other drivers have no such flag
    assert machine({}, driver="vmwarefusion").plan_create() == [
        "docker-machine create -d vmwarefusion devnet"]
    assert machine({}, machine="dev").plan_start() == ["docker-machine start dev"]
    assert machine({}).ssh_command() == "docker-machine ssh devnet"


def test_the_lifecycle_commands_that_run():
    states = [failed('Host does not exist: "devnet"\n'), Result("Stopped\n"),
              Result(fixture("docker-machine-status.txt")), Result("Stopped\n")]
    p = machine({"docker-machine status devnet": states, CREATE: Result(""),
                 "docker-machine start devnet": Result(""),
                 "docker-machine stop devnet": Result(""),
                 "docker-machine rm -y devnet": Result("")})
    p.ssh_answers = p.docker_answers = lambda: True
    assert not p.exists()
    assert p.create() == f"machine devnet ({CREATE})"
    assert p.start() == "machine devnet up (docker-machine start devnet), SSH and Docker answer"
    assert p.stop() == "stopped machine devnet (docker-machine stop devnet)"
    assert p.destroy() == "removed machine devnet (docker-machine rm -y devnet)"
    assert ran(p.local) == [
        "docker-machine status devnet", CREATE, "docker-machine status devnet",
        "docker-machine start devnet", "docker-machine status devnet",
        "docker-machine stop devnet", "docker-machine status devnet",
        "docker-machine rm -y devnet"]


def test_the_route_goes_to_the_address_dhcp_gave_the_machine():
    p = machine({"docker-machine ip devnet": fixture("docker-machine-ip.txt")})
    assert p.assigns_vm_address and p.gateway() == "172.16.0.100"
    down = machine({"docker-machine ip devnet": failed("Host is not running\n")})
    with pytest.raises(DevnetError, match=r"`docker-machine ip devnet` failed \(1\): Host is not"):
        down.gateway()


def test_env_gives_docker_host_and_tls():
    p = machine({"docker-machine env --shell bash devnet": fixture("docker-machine-env.txt")})
    assert p.env() == {"DOCKER_TLS_VERIFY": "1", "DOCKER_HOST": "tcp://172.16.0.100:2376",
                       "DOCKER_CERT_PATH": "/Users/dev/.docker/machine/machines/devnet",
                       "DOCKER_MACHINE_NAME": "devnet"}
    assert p.docker_url() == "tcp://172.16.0.100:2376"
    odd = machine({"docker-machine env --shell bash devnet": Result("# nothing\n")})
    with pytest.raises(DevnetError, match="printed no DOCKER_HOST"):
        odd.docker_url()


def test_ssh_from_inspect_goes_through_virtualboxs_nat_forward():
    inspect = fixture("docker-machine-inspect.json")
    p = machine({"docker-machine inspect devnet": inspect})
    assert p.ssh_target() == SshTarget(
        "127.0.0.1", 53770, "docker", ("/Users/dev/.docker/machine/machines/devnet/id_rsa",))
    other = json.loads(inspect)
    other["DriverName"], other["Driver"]["SSHPort"] = "vmwarefusion", 22
    p = machine({"docker-machine inspect devnet": json.dumps(other)})
    assert (p.ssh_target().host, p.ssh_target().port) == ("172.16.0.100", 22)
    p = machine({"docker-machine inspect devnet": '{"Driver": {}}'})
    with pytest.raises(DevnetError, match="did not say how to SSH"):
        p.ssh_target()


def test_the_boot2docker_iso_restarts_docker_with_its_init_script():
    p = machine({})
    p.target = FakeTarget("docker", **{"sudo -n /etc/init.d/docker restart": Result("")})
    p.ssh_target, p.docker_answers = (lambda: p.target), (lambda: True)
    assert p.restart_docker() == "restarted dockerd (/etc/init.d/docker restart)"
    assert p.dns_runtime() == "container"


def test_detect_names_the_running_machine():
    ctx = local({"command -v docker-machine": Result("/usr/local/bin/docker-machine\n"),
                 "docker-machine status devnet": fixture("docker-machine-status.txt")})
    assert DockerMachineProvider.detect(ctx, settings()) == \
        "docker-machine: machine devnet is Running (docker-machine status devnet)"
    ctx = local({"command -v docker-machine": Result("/usr/local/bin/docker-machine\n"),
                 "docker-machine status devnet": failed('Host does not exist: "devnet"\n')})
    assert DockerMachineProvider.detect(ctx, settings()) is None
