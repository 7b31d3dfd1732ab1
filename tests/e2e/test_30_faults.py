"""Errors a user can act on: a VM that is down, a dockerd that cannot start."""

import pytest

from tests.e2e.machine import echo_container, tcp_from_host

pytestmark = pytest.mark.sim_only("halts the sim VM and breaks its dockerd through its disk")


def test_a_halted_vm_is_named_with_the_next_command(cli, provider, devnet_up):
    assert "done   vm.halt" in cli("vm.halt").stdout
    assert "already done: the VM is stopped" in cli("vm.halt").stdout  # idempotent
    out = cli("vm.hostonly", check=False)
    assert out.returncode == 1
    assert f"cannot reach the VM over SSH (127.0.0.1:{provider.ssh_port})" in out.stderr
    assert "next: invoke vm.up" in out.stderr and "Traceback" not in out.stderr
    status = cli("status", check=False)
    assert status.returncode == 3 and "DOWN  sshd" in status.stdout


def test_dockerd_that_cannot_start_shows_its_log(cli, provider, devnet_up):
    daemon_json = provider.vmroot / "etc/docker/daemon.json"  # the VM's disk, VM powered off
    devnets = daemon_json.read_text()
    daemon_json.write_text("{not json")
    try:
        out = cli("vm.up", check=False)
        assert out.returncode == 1
        assert "dockerd in the VM exited with code 1" in out.stderr
        assert "/etc/docker/daemon.json" in out.stderr  # the log's own words, not a guess
    finally:
        daemon_json.write_text(devnets)


def test_up_after_a_power_cycle_redoes_what_the_vm_lost(cli, provider, docker_client):
    out = cli("up")
    assert "done   vm.up" in out.stdout
    assert "done   vm.hostonly" in out.stdout and "done   vm.forward" in out.stdout
    assert "done   dns.start" in out.stdout  # the DNS service went with the power
    for kept in ("net.route", "docker.configure", "dns.resolver"):  # the host's, the disk's
        assert f"skip   {kept}" in out.stdout
    with echo_container(docker_client, "after-reboot") as ip:
        assert tcp_from_host(provider.host_ns, ip).stdout == "hello from after-reboot\nping\n"
