"""invoke doctor names exactly the hop that is broken; and real faults: a paused daemon, a
300-character name, an outsider asking for recursion, no Docker API on TCP."""

import json
import os
import signal
import subprocess
import time

import pytest

from devnet.tunnel.doctor_hops import endpoint_hop
from tests.e2e.machine import dig, tunnel_reach, wait_for

# doctor, its broken hops and the TCP listeners run on every provider; these faults are
# injected through the sim VM's own pid files and namespaces.
SIM_FAULT = pytest.mark.sim_only(
    "the fault is injected through the sim VM's pid files and namespaces")

DNS = "172.17.42.1"
HOPS = ["VM running", "host-only IP answers", "route present and chosen",
        "a container answers TCP", "dockerd has devnet's bip and dns", f"DNS answers on {DNS}",
        "a record for a running container", "host resolver sends .docker to devnet",
        "no VPN rule blocks", "no subnet overlap"]


@pytest.fixture(scope="module")
def served(docker_client, devnet_up, test_image):
    c = docker_client.containers.run("ubuntu", "nc -ll -p 7777 -e /bin/echo-server",
                                     name="doc1", detach=True, ports={"7777/tcp": None},
                                     restart_policy={"Name": "always"})
    yield c
    c.remove(force=True)


def doctor(cli):
    out = cli("doctor", "--json", check=False)
    return out, {h["name"]: h for h in json.loads(out.stdout)}


def expected_hops(provider) -> list[str]:
    """Through the tunnel, its four hops take the host-only hop's place."""
    if not tunnel_reach(provider):
        return HOPS
    return [HOPS[0], "tunnel helper running", endpoint_hop(provider.tunnel_dial()),
            "WireGuard handshake recent", "tunnel's VM end answers", *HOPS[2:]]


def test_healthy_setup_is_all_green(cli, served, provider):
    out, hops = doctor(cli)
    assert out.returncode == 0, out.stdout + out.stderr
    assert list(hops) == expected_hops(provider)
    # through the tunnel the VM's engine settings are its app's own: doctor says it skips them
    skipped = {"dockerd has devnet's bip and dns"} if tunnel_reach(provider) else set()
    assert {n for n, h in hops.items() if h["status"] == "skip"} == skipped
    assert all(h["status"] == "ok" for n, h in hops.items() if n not in skipped)
    table = cli("doctor").stdout
    assert "a container answers TCP" in table and "doc1" in table


def brk(breaking, repair, hop, qemu_proves=None, route_only=None, sim_only=None):
    marks = [pytest.mark.qemu_proves(qemu_proves)] if qemu_proves else []
    marks += [pytest.mark.route_only(route_only)] if route_only else []
    marks += [pytest.mark.sim_only(sim_only)] if sim_only else []
    return pytest.param(breaking, repair, hop, marks=marks, id=hop)


BREAKS = [
    brk(["vm.halt"], ["up"], "VM running",
        sim_only="test_90's vm.halt names this hop on every VM (halting and booting a VM "
                 "again is minutes under TCG: once per pass)"),
    brk(["net.route", "--remove"], ["net.route"], "route present and chosen"),
    brk(["dns.stop"], ["dns.start"], f"DNS answers on {DNS}",
        route_only="dns.stop reaches the service over SSH; through the tunnel the service is a "
                   "container, and test_80 breaks and names the tunnel's own hops",
        qemu_proves="dns.stop and dns.start drive the same systemd unit over SSH in qemu's "
                    "guest and the Vagrant box (104 s of the Vagrant pass)"),
    brk(["dns.resolver", "--remove"], ["dns.resolver"], "host resolver sends .docker to devnet"),
    brk(["vpn.sim.connect", "--parts", "tunnel,firewall"], ["vpn.sim.disconnect"],
        "no VPN rule blocks",
        qemu_proves="vpn.sim builds its VPN in the sim's and qemu's simulated host namespace"),
]


@pytest.mark.parametrize("breaking, repair, hop", BREAKS)
def test_each_broken_hop_is_named_exactly(cli, served, breaking, repair, hop):
    cli(*breaking)
    try:
        out, hops = doctor(cli)
        assert out.returncode == 4
        assert out.stderr.startswith(f"devnet: {hop}: "), out.stderr
        failed = [n for n, h in hops.items() if h["status"] == "FAIL"]
        assert hop in failed and len(failed) <= 2  # the hop, and the symptom it caused
        assert "next: invoke" in out.stderr
    finally:
        cli(*repair)
    wait_for(lambda: doctor(cli)[0].returncode == 0, 10)


@SIM_FAULT
def test_a_paused_daemon_then_a_new_container_resolves(provider, docker_client, served):
    pid = provider.dockerd.pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(1.5)
        assert dig(provider.host_ns, f"@{DNS}", "doc1.docker")  # served from the zone meanwhile
    finally:
        os.kill(pid, signal.SIGCONT)
    c = docker_client.containers.run("ubuntu", "sleep 600", name="afterpause", detach=True)
    try:
        c.reload()
        ip = c.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
        wait_for(lambda: dig(provider.host_ns, f"@{DNS}", "afterpause.docker") == [ip], 2)
    finally:
        c.remove(force=True)


@SIM_FAULT
def test_a_300_character_name_is_logged_and_the_rest_still_works(cli, provider,
                                                                  docker_client, served):
    c = docker_client.containers.run("ubuntu", "sleep 600", name="a" * 300, detach=True)
    try:
        c.reload()
        ip = c.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
        wait_for(lambda: ip in dig(provider.host_ns, f"@{DNS}", "ubuntu.dev.docker"), 2)
        assert dig(provider.host_ns, f"@{DNS}", f"{c.id[:12]}.docker") == [ip]
        assert "not valid DNS names, left out" in cli("dns.logs", "-l", "20").stdout
    finally:
        c.remove(force=True)


@SIM_FAULT
def test_outsiders_get_no_recursion(provider, served):
    """From the upstream's namespace (10.0.2.2: neither host-only nor Docker), via the VM's
    NAT address: the containers' names are answered, anything else is REFUSED."""
    subprocess.run(["ip", "-n", provider.up_ns, "route", "add", "172.17.0.0/16", "via",
                    "10.0.2.15"], check=True)
    try:
        other = on_host_ns(provider.up_ns, "dig", "+time=2", f"@{DNS}", "www.example.test")
        assert "status: REFUSED" in other
        assert "recursion requested but not available" in other
        own = on_host_ns(provider.up_ns, "dig", "+short", "+time=2", f"@{DNS}", "doc1.docker")
        served.reload()
        assert own.split() == [served.attrs["NetworkSettings"]["Networks"]["bridge"][
            "IPAddress"]]
    finally:
        subprocess.run(["ip", "-n", provider.up_ns, "route", "del", "172.17.0.0/16"],
                       check=True)


def on_host_ns(ns, *argv):
    return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                          timeout=20).stdout


@pytest.mark.route_only("devnet configures no dockerd in a Desktop VM (its engine settings are "
                        "the app's), so what listens there is not devnet's; and it has no SSH")
def test_no_docker_api_on_any_tcp_port(cli, served):
    """Every TCP listener in the VM, with its owner: sshd, devnet's DNS and docker-proxy (a
    container's published port) only; dockerd itself listens on no TCP port. Asked inside
    the VM over devnet's own SSH, so the same on the sim and a real VM."""
    listening = cli("vm.ssh", "--command", "ss -Hltnp").stdout
    owners = {}
    for line in listening.splitlines():
        port = line.split()[3].rsplit(":", 1)[1]
        owners[port] = line.split("users:")[1].split('"')[1]
    assert owners.get("22") == "sshd" and owners.get("53", "").startswith("python")
    assert set(owners.values()) <= {"sshd", "docker-proxy"} | {owners["53"]}, listening
    assert "2375" not in owners and "2376" not in owners
