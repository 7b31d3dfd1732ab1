"""DNS for containers, end to end: real dig and getent on the simulated host, real dockerd
events, the DNS service supervised in the VM, the upstream in its own namespace."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from devnet import procs
from tests.e2e import machine
from tests.e2e.machine import wait_for

DNS = "172.17.42.1"


def on_host(provider, *argv, timeout=20) -> str:
    return machine.on_host(provider.host_ns, *argv, timeout=timeout)


def dig(provider, *args) -> list[str]:
    return machine.dig(provider.host_ns, *args)


def ip_of(container) -> str:
    container.reload()
    return container.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]


@pytest.fixture(scope="module")
def walkthrough(docker_client, devnet_up, test_image):
    """`docker run --name u1 ubuntu` and u2, as in the walk-through (restart policy, so a
    dockerd restart brings them back)."""
    made = [docker_client.containers.run(
        "ubuntu", "nc -ll -p 7777 -e /bin/echo-server", name=name, hostname=name,
        detach=True, ports={"7777/tcp": None}, restart_policy={"Name": "always"})
        for name in ("u1", "u2")]
    try:
        yield {c.name: c for c in made}
    finally:
        for c in made:
            c.remove(force=True)


def test_dig_the_skydock_names(provider, walkthrough):
    u1, u2 = ip_of(walkthrough["u1"]), ip_of(walkthrough["u2"])
    wait_for(lambda: dig(provider, f"@{DNS}", "u1.ubuntu.dev.docker") == [u1])
    assert sorted(dig(provider, f"@{DNS}", "ubuntu.dev.docker")) == sorted([u1, u2])
    assert dig(provider, f"@{DNS}", "U2.UBUNTU.dev.docker") == [u2]


def test_getent_through_the_resolver_devnet_configured(provider, walkthrough):
    u1 = ip_of(walkthrough["u1"])
    assert on_host(provider, "cat", "/etc/resolv.conf").splitlines()[1] == f"nameserver {DNS}"
    assert on_host(provider, "getent", "hosts", "u1.ubuntu.dev.docker").split() == \
        [u1, "u1.ubuntu.dev.docker"]
    reply = subprocess.run(["ip", "netns", "exec", provider.host_ns, "nc", "-N", "-w", "3",
                            "u1.ubuntu.dev.docker", "7777"], input="by name\n",
                           capture_output=True, text=True, timeout=10).stdout
    assert reply == "hello from u1\nby name\n"  # TCP to the container by its DNS name


def test_ptr_srv_and_nxdomain(provider, walkthrough):
    u1 = ip_of(walkthrough["u1"])
    assert dig(provider, "-x", u1) == ["u1.ubuntu.dev.docker."]
    assert dig(provider, "SRV", "_7777._tcp.u2.ubuntu.dev.docker") == \
        ["0", "0", "7777", "u2.ubuntu.dev.docker."]
    full = on_host(provider, "dig", "+time=1", "nothere.dev.docker")
    assert "status: NXDOMAIN" in full and "SOA" in full


@pytest.mark.qemu_proves(
    "the upstream is the simulated internet (the sim's and qemu's up namespace); the "
    "lab's VM has none")
def test_other_names_go_to_the_upstream(provider, walkthrough):
    assert dig(provider, "www.example.test") == ["192.0.2.10"]
    assert on_host(provider, "getent", "hosts", "example.test").split()[0] == "192.0.2.10"


@pytest.mark.route_only("containers ask devnet's DNS through dockerd's --dns, which "
                        "docker.configure sets over SSH; a Desktop VM's engine settings are "
                        "its user's (Settings -> Docker Engine)")
def test_a_container_resolves_another_by_name(docker_client, walkthrough):
    u1 = walkthrough["u1"]
    assert f"nameserver {DNS}" in u1.exec_run("cat /etc/resolv.conf").output.decode()
    out = u1.exec_run("nslookup u2.ubuntu.dev.docker").output.decode()
    assert ip_of(walkthrough["u2"]) in out, out


@pytest.mark.sim_only("60 containers take minutes under TCG; the record set is the same")
def test_sixty_containers_of_one_image_over_udp_and_tcp(provider, docker_client, test_image):
    made = []
    try:
        for i in range(60):
            made.append(docker_client.containers.run("ubuntu", "sleep 600", name=f"web{i}",
                                                     detach=True, labels={"t": "web"}))
        made[0].image.tag("web", "latest")
        for c in made:
            c.reload()
        wait_for(lambda: len(dig(provider, f"@{DNS}", "ubuntu.dev.docker")) >= 60, 10)
        plain = on_host(provider, "dig", "+noedns", "+ignore", f"@{DNS}", "ubuntu.dev.docker")
        assert "flags: qr tc" in plain or " tc " in plain.split("flags:")[1].split(";")[0]
        # Without +ignore dig retries over TCP on TC, as every resolver does.
        assert len(dig(provider, "+noedns", f"@{DNS}", "ubuntu.dev.docker")) >= 60
        assert len(dig(provider, "+tcp", f"@{DNS}", "ubuntu.dev.docker")) >= 60
    finally:
        for c in made:
            c.remove(force=True)


@pytest.mark.qemu_proves(
    "the DNS service's parser in the VM: the same in any VM")
def test_malformed_packets_do_not_stop_it(provider, walkthrough):
    script = ("import socket,os\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
              "for i in range(2000): s.sendto(os.urandom(i % 97), ('172.17.42.1', 53))\n")
    subprocess.run(["ip", "netns", "exec", provider.host_ns, "python3", "-c", script],
                   check=True, timeout=30)
    # Still serving: at once on the sim; a TCG-emulated VM may first drain the 2,000.
    want = [ip_of(walkthrough["u1"])]
    wait_for(lambda: dig(provider, f"@{DNS}", "u1.ubuntu.dev.docker") == want, 15)


@pytest.mark.sim_only("a one-second bound measured on the sim; the VM is TCG-emulated")
def test_a_stopped_container_is_nxdomain_within_a_second(provider, docker_client, test_image):
    c = docker_client.containers.run("ubuntu", "sleep 600", name="gone1", detach=True)
    try:
        wait_for(lambda: dig(provider, f"@{DNS}", "gone1.docker"), 5)
        c.kill()
        start = time.monotonic()
        end = wait_for(lambda: "NXDOMAIN" in on_host(provider, "dig", "+time=1", f"@{DNS}",
                                                     "gone1.docker"), 1.0)
        assert end - start <= 1.0
    finally:
        c.remove(force=True)


@pytest.mark.qemu_proves(
    "the DNS service following dockerd in the VM: the same in any VM")
def test_dockerd_restart_brings_every_record_back(provider, walkthrough):
    provider.restart_docker()
    for name, c in walkthrough.items():
        wait_for(lambda c=c, name=name: dig(provider, f"@{DNS}", f"{name}.ubuntu.dev.docker")
                 == [ip_of(c)], 15)


@pytest.mark.sim_only("reads the supervisor's pid file on the sim VM's disk (a real VM "
                      "runs the service as a systemd unit)")
def test_the_dns_process_killed_is_restarted(cli, provider, walkthrough):
    childfile = provider.vm_run / "devnet-dns/supervisor.pid.child"
    old = procs.read_pid(childfile)
    os.kill(old, signal.SIGKILL)
    start = time.monotonic()
    wait_for(lambda: dig(provider, f"@{DNS}", "u1.ubuntu.dev.docker"), 5)
    assert time.monotonic() - start < 5
    assert procs.read_pid(childfile) != old
    assert "restarting" in cli("dns.logs").stdout
    status = cli("dns.status").stdout
    assert "serving .docker on 172.17.42.1:53" in status and "2 container(s)" in status


@pytest.mark.qemu_proves(
    "reads the simulated host's /etc/netns/<ns>/resolv.conf; the resolver code is every "
    "provider's")
def test_dns_resolver_remove_puts_the_file_back_exactly(cli, provider, walkthrough):
    path = f"/etc/netns/{provider.host_ns}/resolv.conf"
    with_devnet = open(path).read()
    cli("dns.resolver", "--remove")
    without = open(path).read()
    assert without == "# " + provider.host_ns + ": the developer machine's resolver\n" \
        "nameserver 192.0.2.53\n"
    assert "done   dns.resolver" in cli("dns.resolver").stdout
    assert open(path).read() == with_devnet


@pytest.mark.qemu_proves(
    "the simulated host's resolv.conf path; the resolver code is every provider's")
def test_a_symlinked_resolv_conf_is_not_written_through(cli, provider, walkthrough):
    """The host's resolv.conf a symlink into a file some other program generates: devnet
    refuses with the reason and leaves both the link and its target exactly as they were;
    as a plain file again, dns.resolver works and replaces it atomically (a new inode)."""
    path = Path(provider.host_resolv)
    cli("dns.resolver", "--remove")
    plain = path.read_text()
    generated = path.parent / "generated-resolv.conf"
    try:
        generated.write_text(plain)
        path.unlink()
        path.symlink_to(generated)
        out = cli("dns.resolver", check=False)
        assert out.returncode != 0
        assert f"{path} is a symlink to {generated}: devnet does not write through it" in \
            out.stdout + out.stderr
        assert path.is_symlink() and generated.read_text() == plain
        assert on_host(provider, "cat", "/etc/resolv.conf") == plain
    finally:
        path.unlink()
        path.write_text(plain)
        generated.unlink(missing_ok=True)
    inode = path.stat().st_ino
    assert "done   dns.resolver" in cli("dns.resolver").stdout
    assert path.stat().st_ino != inode and path.stat().st_mode & 0o777 == 0o644
    assert on_host(provider, "cat", "/etc/resolv.conf").splitlines()[1] == f"nameserver {DNS}"


@pytest.mark.qemu_proves(
    "the upstream is the simulated internet (the sim's and qemu's up namespace); the "
    "lab's VM has none")
def test_upstream_timeout_is_servfail_within_two_seconds(provider, walkthrough):
    # The upstream stand-in answers only example.test; drop its traffic to make it silent.
    subprocess.run(["ip", "netns", "exec", provider.up_ns, "iptables", "-w", "-I", "INPUT", "-p",
                    "udp", "--dport", "53", "-j", "DROP"], check=True)
    try:
        start = time.monotonic()
        out = on_host(provider, "dig", "+time=5", "+tries=1", f"@{DNS}", "www.example.test")
        assert "SERVFAIL" in out and time.monotonic() - start < 2.5
    finally:
        subprocess.run(["ip", "netns", "exec", provider.up_ns, "iptables", "-w", "-D", "INPUT",
                        "-p", "udp", "--dport", "53", "-j", "DROP"], check=True)


