"""provider boot2docker: the walk-through's own commands through MockContext, and what
`boot2docker status`, `ip`, `shellinit` and `config` print."""

import os

import pytest
from invoke import Result

from devnet.errors import DevnetError
from devnet.providers.cli.boot2docker import Boot2DockerProvider, parse_profile
from devnet.providers.cli.ssh_target import SshTarget
from tests.unit.test_providers_remote import FakeTarget, failed, fixture, local, ran, settings

B2D = "boot2docker --vm=boot2docker-vm"
NO_VM = failed('error in run: Failed to get machine "boot2docker-vm": machine not exist\n')


def b2d(run: dict) -> Boot2DockerProvider:
    return Boot2DockerProvider(settings(provider="boot2docker"), local=local(run))


def test_init_is_the_walk_throughs_with_devnets_host_only_network():
    assert b2d({}).plan_create() == [
        f"{B2D} init --dhcp=false --hostip=172.16.0.1 --netmask=255.255.0.0"]
    p = Boot2DockerProvider(settings(hostonly={"network": "10.77.0.0/24", "host_ip": "10.77.0.1",
                                               "vm_ip": "10.77.0.11"}), local=local({}))
    assert p.plan_create() == [
        f"{B2D} init --dhcp=false --hostip=10.77.0.1 --netmask=255.255.255.0"]
    assert b2d({}).plan_start() == [f"{B2D} up"]
    assert b2d({}).ssh_command() == f"{B2D} ssh"


def test_status_says_the_state_and_a_vm_that_does_not_exist_is_not_created():
    assert b2d({f"{B2D} status": fixture("boot2docker-status.txt")}).vm_state() == "running"
    gone = b2d({f"{B2D} status": NO_VM})
    assert not gone.exists() and gone.destroy() == "VM boot2docker-vm already gone"


def test_delete_powers_the_vm_off_first():
    p = b2d({f"{B2D} status": fixture("boot2docker-status.txt"), f"{B2D} down": Result(""),
             f"{B2D} delete": Result("")})
    assert p.destroy() == f"removed VM boot2docker-vm ({B2D} delete)"
    assert ran(p.local) == [f"{B2D} status", f"{B2D} status", f"{B2D} down", f"{B2D} delete"]


def test_up_is_waited_on_over_ssh_because_the_api_needs_eth1s_address():
    p = b2d({f"{B2D} status": Result("poweroff\n"), f"{B2D} up": Result("")})
    p.target = FakeTarget("docker", **{"sudo -n true": Result(""),
                                       "sudo -n docker version": Result("")})
    p.ssh_target = lambda: p.target
    assert p.start() == f"VM boot2docker-vm up ({B2D} up), SSH and Docker answer"
    assert ran(p.target.conn) == ["sudo -n true", "sudo -n docker version"]


def test_shellinit_gives_the_tls_environment():
    p = b2d({f"{B2D} shellinit": fixture("boot2docker-shellinit.txt")})
    assert p.env() == {"DOCKER_HOST": "tcp://172.16.0.11:2376",
                       "DOCKER_CERT_PATH": "/Users/dev/.boot2docker/certs/boot2docker-vm",
                       "DOCKER_TLS_VERIFY": "1"}
    assert p.docker_url() == "tcp://172.16.0.11:2376"


def test_shellinit_before_vm_hostonly_points_there():
    p = b2d({f"{B2D} shellinit": failed(
        "error in run: Error requesting socket: exit status 1\n")})
    with pytest.raises(DevnetError, match="Error requesting socket") as err:
        p.docker_url()
    assert err.value.hint == "shellinit needs eth1's address: invoke vm.hostonly"


def test_ssh_settings_from_boot2docker_config_or_its_defaults():
    profile = parse_profile(fixture("boot2docker-config.txt"))
    assert (profile["SSHKey"], profile["SSHPort"], profile["VM"]) == (
        "/Users/dev/.ssh/id_boot2docker", "2022", "boot2docker-vm")
    assert profile["NetMask"] == "[255, 255, 0, 0]"
    p = b2d({f"{B2D} config": fixture("boot2docker-config.txt")})
    assert p.ssh_target() == SshTarget("127.0.0.1", 2022, "docker",
                                       ("/Users/dev/.ssh/id_boot2docker",))
    p = b2d({f"{B2D} config": failed("config error: bad profile\n")})
    assert p.ssh_target() == SshTarget("127.0.0.1", 2022, "docker",
                                       (os.path.expanduser("~/.ssh/id_boot2docker"),))


def test_tiny_core_restarts_docker_with_its_init_script_and_has_no_python():
    p = b2d({})
    p.target = FakeTarget("docker", **{"sudo -n /etc/init.d/docker restart": Result("")})
    p.ssh_target, p.docker_answers = (lambda: p.target), (lambda: True)
    assert p.restart_docker() == "restarted dockerd (/etc/init.d/docker restart)"
    assert p.dns_runtime() == "container"
    assert not p.assigns_vm_address and p.gateway() == "172.16.0.11"  # vm.hostonly sets it


def test_status_adds_what_boot2docker_ip_reports():
    p = b2d({f"{B2D} status": Result("running\n"),
             f"{B2D} config": fixture("boot2docker-config.txt"),
             f"{B2D} ip": fixture("boot2docker-ip.txt"),
             f"{B2D} shellinit": fixture("boot2docker-shellinit.txt")})
    p.ssh_answers = p.docker_answers = lambda: True
    assert [(piece.name, piece.ok, piece.detail) for piece in p.status()] == [
        ("boot2docker", True, "VM boot2docker-vm: running"),
        ("ssh", True, "docker@127.0.0.1:2022"), ("docker", True, "tcp://172.16.0.11:2376"),
        ("host-only address", True, "boot2docker ip: 172.16.0.11")]


def test_detect_and_a_missing_boot2docker():
    ctx = local({"command -v boot2docker": Result("/usr/local/bin/boot2docker\n"),
                 f"{B2D} status": Result("running\n")})
    assert Boot2DockerProvider.detect(ctx, settings()) == \
        f"boot2docker: VM boot2docker-vm is running ({B2D} status)"
    p = b2d({"command -v boot2docker": Result(exited=1)})
    with pytest.raises(DevnetError, match="needs `boot2docker`") as err:
        p.preflight()
    assert "docker-machine or colima" in err.value.hint
