"""Containers started with pytest-docker (compose) answer TCP from the simulated host."""

import pytest

from tests.e2e.machine import echo_container, tcp_from_host


def test_each_container_answers_from_the_host(provider, echo_ips):
    for hostname, ip in echo_ips.items():
        out = tcp_from_host(provider.host_ns, ip)
        assert out.returncode == 0, out.stderr
        assert out.stdout == f"hello from {hostname}\nping\n"


def test_without_the_route_it_fails_and_comes_back(cli, provider, echo_ips):
    ip = echo_ips["echo1"]
    removed = cli("net.route", "--remove")
    assert "removed route 172.17.0.0/16 via 172.16.0.11" in removed.stdout
    out = tcp_from_host(provider.host_ns, ip)
    assert out.returncode == 1 and "unreachable" in out.stderr.lower(), out.stderr
    again = cli("net.route")
    assert "done   net.route" in again.stdout
    assert tcp_from_host(provider.host_ns, ip).stdout == "hello from echo1\nping\n"


@pytest.mark.route_only("takes the host-only DOCKER-USER rule away over SSH (the tunnel's is "
                        "the helper's: test_80_desktop)")
def test_without_the_forward_rule_the_vm_drops_it(cli, provider, echo_ips):
    ip = echo_ips["echo2"]
    rule = ["-s", "172.16.0.0/16", "-d", "172.17.0.0/16", "-j", "ACCEPT"]
    cli("vm.ssh", "-c", "iptables -w -D DOCKER-USER " + " ".join(rule))
    dropped = tcp_from_host(provider.host_ns, ip)
    assert dropped.returncode == 1 and "timed out" in dropped.stderr, dropped.stderr
    assert "done   vm.forward" in cli("vm.forward").stdout
    assert tcp_from_host(provider.host_ns, ip).stdout == "hello from echo2\nping\n"


def test_a_container_started_by_hand_is_reachable_too(provider, docker_client, echo_ips):
    with echo_container(docker_client, "u1") as ip:
        assert tcp_from_host(provider.host_ns, ip).stdout == "hello from u1\nping\n"
