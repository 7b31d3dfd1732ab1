"""devnet.dns.store = etcd, end to end: two simulated VMs (each with its developer machine)
and a 3-member etcd cluster on a LAN of its own share one DNS view.

One module-scoped setup (two `invoke up`, one cluster) serves every case, in this order:
A's container resolves on B (host and container) within 1 s; its stop is NXDOMAIN everywhere
within 1 s; a name on both hosts answers both addresses and is logged; one member killed
changes nothing; B cut off from etcd answers its last view, says so, then catches up; A cut
off loses its names when its lease expires, and writes them again when it is back; A powered
off loses its names, and they return when it boots.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from devnet import config, providers
from tests.e2e.etcd_lan import EtcdLan
from tests.e2e.machine import Cli, wait_for

pytestmark = [pytest.mark.usefixtures("before"),
              pytest.mark.sim_only("two simulated VMs and an etcd cluster in namespaces")]

LEASE_TTL = 3
B_NET = {"hostonly": {"network": "172.20.0.0/16", "host_ip": "172.20.0.1",
                      "vm_ip": "172.20.0.11"},
         "docker": {"subnets": ["172.21.0.0/16"], "bip": "172.21.42.1/16"}}


class Vm:
    """One devnet instance: its CLI (with its settings file), provider and docker client."""

    def __init__(self, name: str, n: int, tree: dict, tmp):
        self.n, self.tree = n, {"instance": name, "watch": False, **tree}
        self.cfg = tmp / f"{name}.json"  # invoke -f reads JSON by its suffix
        self.cfg.write_text(json.dumps({"devnet": self.tree}))
        self.cli = Cli(name, {"INVOKE_DEVNET_WATCH": "0"})
        self.settings = config.load(self.tree)
        self.provider = providers.get(self.settings)
        self._docker = None

    def __call__(self, *args, check=True):
        return self.cli("-f", str(self.cfg), *args, check=check)

    @property
    def docker(self):
        if self._docker is None:
            self._docker = self.provider.docker_client()
        return self._docker

    def run(self, name: str, **kw):
        c = self.docker.containers.run("ubuntu", "sleep 3600", name=name, detach=True, **kw)
        c.reload()
        return c, next(iter(c.attrs["NetworkSettings"]["Networks"].values()))["IPAddress"]

    def ask(self, name: str) -> tuple[str, list[str]]:
        """(status, addresses) of `name`, asked of this VM's DNS from its developer machine."""
        out = subprocess.run(["ip", "netns", "exec", self.provider.host_ns, "dig", "+time=1",
                              "+tries=1", f"@{self.settings.dns_ip}", f"{name}.ubuntu.dev.docker",
                              "+noall", "+comments", "+answer"],
                             capture_output=True, text=True, timeout=10).stdout
        status = out.split("status: ", 1)[1].split(",")[0] if "status: " in out else "TIMEOUT"
        rows = [line.split() for line in out.splitlines() if not line.startswith(";")]
        ips = sorted(row[4] for row in rows if len(row) == 5 and row[3] == "A")
        return status, ips


@pytest.fixture(scope="module")
def lan(instance, tmp_path_factory):
    net = EtcdLan(f"k{instance[1:]}"[:7], tmp_path_factory.mktemp("etcd"))
    try:
        net.create()
        yield net
    finally:
        net.destroy()


@pytest.fixture(scope="module")
def vms(instance, lan, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("etcd-vms")
    made = []
    try:
        for n, tree in ((1, {}), (2, B_NET)):
            name = f"{'ab'[n - 1]}{instance[1:]}"[:8]
            etcd = {"endpoints": lan.endpoints, "lease_ttl": LEASE_TTL, "host": f"vm-{n}"}
            vm = Vm(name, n, {**tree, "dns": {"store": "etcd", "etcd": etcd}}, tmp)
            made.append(vm)
            vm("up")
            lan.attach(vm.provider.vm_ns, n)
            vm("test.image")
        yield made
    finally:
        for vm in made:
            if vm._docker is not None:
                vm._docker.close()
            out = vm("down", check=False)
            if out.returncode:
                print(f"down failed, destroying {vm.settings.instance}: {out.stdout}{out.stderr}")
                vm.provider.destroy()


@pytest.fixture(scope="module")
def web(vms):
    """A container on A that comes back after a power cycle, and a client container on B."""
    a, b = vms
    wait_for(lambda: "watching" in b("dns.status").stdout, 10)
    c, ip = a.run("web", restart_policy={"Name": "always"})
    b.run("client")
    return c, ip


def test_a_name_on_a_resolves_on_b_within_a_second(vms, web):
    a, b = vms
    started = time.monotonic()
    _, ip = a.run("fresh")
    took = wait_for(lambda: b.ask("fresh") == ("NOERROR", [ip]), 1.0) - started
    assert a.ask("fresh") == ("NOERROR", [ip])
    out = b.docker.containers.get("client").exec_run(["nslookup", "fresh.ubuntu.dev.docker"])
    assert ip in out.output.decode(), out.output.decode()
    print(f"propagation A -> B: {took * 1000:.0f} ms")


def test_a_stop_is_nxdomain_everywhere_within_a_second(vms, web):
    a, b = vms
    c, ip = a.run("brief")
    wait_for(lambda: b.ask("brief")[1] == [ip], 1.0)
    c.remove(force=True)
    wait_for(lambda: a.ask("brief")[0] == b.ask("brief")[0] == "NXDOMAIN", 1.0)


def test_a_name_on_both_hosts_answers_both_and_is_logged(vms, web):
    a, b = vms
    _, ip_a = a.run("twin")
    _, ip_b = b.run("twin")
    both = sorted([ip_a, ip_b])
    for vm in vms:
        wait_for(lambda vm=vm: vm.ask("twin") == ("NOERROR", both), 2.0)
    assert "twin.ubuntu.dev.docker runs on hosts vm-1, vm-2" in b("dns.logs").stdout


def test_export_prints_every_hosts_records_and_a_corefile(vms, web):
    a, b = vms
    out = b("dns.export").stdout
    assert "etcdctl put /skydns/docker/dev/ubuntu/web/vm-1-" in out  # A's, exported on B
    assert "etcdctl put /skydns/docker/dev/ubuntu/client/vm-2-" in out
    assert f'"host":"{web[1]}"' in out
    assert "etcd {" in out and "path /skydns" in out and "endpoint http://10.123.0.1:2379" in out


def test_one_member_killed_changes_nothing(vms, lan, web):
    a, b = vms
    _, web_ip = web
    lan.members[0].stop()
    assert b.ask("web") == ("NOERROR", [web_ip])
    started = time.monotonic()
    _, ip = a.run("survivor")
    # The killed member may have been the leader: a write waits for the election (~1 s with
    # the sim's 500 ms election timeout), so 2 s here.
    took = wait_for(lambda: b.ask("survivor") == ("NOERROR", [ip]), 2.0) - started
    assert b.ask("web") == ("NOERROR", [web_ip])
    print(f"propagation with a member down: {took * 1000:.0f} ms")


def test_b_cut_off_answers_its_last_view_then_catches_up(vms, lan, web):
    a, b = vms
    _, web_ip = web
    # B follows etcd again first: the member killed before may still have it failing over, and
    # an UNREACHABLE from that would be read as this cut's.
    wait_for(lambda: "watching" in b("dns.status").stdout, 10)
    lan.cut(b.n, up=False)
    try:
        wait_for(lambda: "UNREACHABLE" in b("dns.status").stdout, 10)
        doctor = b("doctor", check=False).stdout
        routes = subprocess.run(["ip", "-n", b.provider.vm_ns, "-br", "route"],
                                capture_output=True, text=True).stdout
        assert "etcd unreachable" in doctor and "answering from the last view" in doctor, \
            f"{doctor}\n--- routes\n{routes}\n--- dns.logs\n{b('dns.logs').stdout}"
        _, late_ip = a.run("late")
        assert b.ask("web") == ("NOERROR", [web_ip])  # the last view
        assert b.ask("late")[0] == "NXDOMAIN"
    finally:
        lan.cut(b.n, up=True)
    wait_for(lambda: b.ask("late") == ("NOERROR", [late_ip]), 10)
    wait_for(lambda: "watching" in b("dns.status").stdout, 3)


def test_a_cut_off_loses_its_names_when_its_lease_expires_and_gets_them_back(vms, lan, web):
    """Nothing tells etcd that A is gone: only A's lease, no longer kept alive, expiring."""
    a, b = vms
    _, web_ip = web
    wait_for(lambda: b.ask("web") == ("NOERROR", [web_ip]), 5)
    lan.cut(a.n, up=False)
    try:
        cut = time.monotonic()
        took = wait_for(lambda: b.ask("web")[0] == "NXDOMAIN", LEASE_TTL + 1.5) - cut
        assert took > 0.5, "gone at once: not the lease's doing"
        print(f"A's names gone {took:.1f} s after its cable was pulled (lease TTL {LEASE_TTL} s)")
    finally:
        lan.cut(a.n, up=True)
    wait_for(lambda: b.ask("web") == ("NOERROR", [web_ip]), 10)  # A writes them again


def test_a_powered_off_loses_its_names_and_gets_them_back_when_it_boots(vms, lan, web):
    a, b = vms
    a("vm.halt")  # the power-off kills A's containers first: their names go at once
    wait_for(lambda: b.ask("web")[0] == "NXDOMAIN", LEASE_TTL + 1)
    a("up")
    lan.attach(a.provider.vm_ns, a.n)
    wait_for(lambda: b.ask("web")[0] == "NOERROR", 15)  # restart=always: web runs again
