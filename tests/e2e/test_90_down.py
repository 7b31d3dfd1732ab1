"""`invoke down` puts the machine back exactly as it was before `invoke up` (last module)."""

import json

import pytest

from devnet.providers.sim.network import TEST_ZONE_ADDRESS, UPSTREAM_DNS
from tests.e2e.machine import assert_same, dig, snapshot, tunnel_reach

ROUTE_UNDO = ("net.route", "vm.forward", "vm.hostonly", "vm.up", "vm.init")
TUNNEL_UNDO = ("dns.resolver", "tunnel.dns", "net.route", "tunnel.link", "tunnel.helper",
               "vm.up", "vm.init")


@pytest.mark.qemu_proves("the upstream DNS is the simulated internet's (the sim's and qemu's up "
                         "namespace); the lab's VM has none")
def test_halt_leaves_the_outside_worlds_dns_running(cli, provider, devnet_up):
    """The upstream DNS is the simulated internet's, not the VM's: `vm.halt` keeps it on the
    sim and on a qemu VM alike, still answering; down removes it. doctor names the VM."""
    pid = provider.upstream.pid()
    assert pid
    out = cli("vm.halt").stdout
    try:
        assert "upstream DNS" not in out and not provider.running(), out
        assert provider.upstream.pid() == pid
        assert dig(provider.up_ns, f"@{UPSTREAM_DNS}", "www.example.test") == \
            [TEST_ZONE_ADDRESS]  # asked in its own namespace: qemu's host has no link to it
        # doctor names the halted VM first (test_60's other hops; one halt per pass)
        doctor = cli("doctor", "--json", check=False)
        assert doctor.returncode == 4 and doctor.stderr.startswith("devnet: VM running: "), \
            doctor.stderr
        assert "next: invoke" in doctor.stderr
        hops = {h["name"]: h["status"] for h in json.loads(doctor.stdout)}
        assert hops["VM running"] == "FAIL"
    finally:
        cli("up")  # as it was: the down below undoes a running devnet


# vagrant: vm.up's halt and vm.init's `vagrant destroy`; the steps that the Vagrantfile's
# provisioning did in the VM go with it
UNDONE = {"vagrant": ("net.route", "vm.up", "vm.init")}


def test_down_leaves_nothing_behind(cli, before, marks, settings, provider, devnet_up):
    out = cli("down")
    undone = (TUNNEL_UNDO if tunnel_reach(provider) else
              UNDONE.get(settings.provider, ROUTE_UNDO))
    for step in undone:
        assert f"undone {step}" in out.stdout, out.stdout
    after = snapshot(marks)
    assert_same(before, after)
    assert not settings.state_dir.exists(), sorted(p.name for p in settings.state_dir.iterdir())


def test_down_again_has_nothing_to_do(cli, devnet_up):
    out = cli("down")
    assert "already done: the journal is empty" in out.stdout
