"""A VM whose resolv.conf is systemd-resolved's stub (Ubuntu, colima): devnet forwards to the
servers resolved itself uses (/run/systemd/resolve/resolv.conf), never to 127.0.0.53. Before,
the upstream list was empty there and every outside name was SERVFAIL."""

from __future__ import annotations

import json
import shutil

import pytest

from devnet.dns.vm_resolvers import nameservers
from tests.e2e import machine
from tests.e2e.machine import wait_for

pytestmark = pytest.mark.sim_only("writes the sim VM's resolv.conf and /run through its disk")

STUB = """\
# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).
# Do not edit.
nameserver 127.0.0.53
options edns0 trust-ad
search .
"""
UPLINK = """\
# This is /run/systemd/resolve/resolv.conf managed by man:systemd-resolved(8).
# Do not edit.
nameserver {upstream}
search .
"""


def status(provider) -> dict:
    return json.loads(machine.in_vm(provider, "cat", "/run/devnet-dns/status.json"))


@pytest.fixture
def stub_vm(cli, provider, devnet_up):
    """The VM's resolv.conf becomes the stub, resolved's uplink file lists the sim's upstream,
    and the DNS service starts again to read them; all put back afterwards."""
    resolv = provider.vmroot / "etc/resolv.conf"  # bind-mounted: written in place, not replaced
    before = resolv.read_text()
    upstream = nameservers(before)  # the sim's upstream, 192.0.2.53
    resolved = provider.vm_run / "systemd/resolve"
    resolved.mkdir(parents=True)
    try:
        (resolved / "resolv.conf").write_text(UPLINK.format(upstream=upstream[0]))
        resolv.write_text(STUB)
        cli("dns.stop")
        cli("dns.start")
        yield upstream[0]
    finally:
        resolv.write_text(before)
        shutil.rmtree(provider.vm_run / "systemd")
        cli("dns.stop")
        cli("dns.start")


def test_the_upstream_is_read_behind_the_stub(provider, stub_vm):
    assert machine.in_vm(provider, "cat", "/etc/resolv.conf") == STUB  # what the VM sees
    st = status(provider)
    assert st["upstream"] == [stub_vm]
    assert st["upstream_source"].startswith("/run/systemd/resolve/resolv.conf")
    assert machine.dig(provider.host_ns, "www.example.test") == ["192.0.2.10"]
    assert machine.on_host(provider.host_ns, "getent", "hosts", "example.test").split()[0] == \
        "192.0.2.10"


def test_a_container_resolves_outside_names_behind_the_stub(docker_client, test_image, stub_vm):
    c = docker_client.containers.run("ubuntu", "sleep 60", name="stub1", detach=True)
    try:
        out = ""

        def answered():
            nonlocal out
            out = c.exec_run(["nslookup", "-type=a", "www.example.test"]).output.decode()
            return "192.0.2.10" in out

        wait_for(answered, timeout=5, pause=0.2)
    finally:
        c.remove(force=True)
