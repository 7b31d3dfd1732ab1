"""invoke doctor's tunnel hops, one by one: the helper container (a fake Docker client), the
UDP endpoint probe, WireGuard's handshake age read from real `wg show` output (fixture), the
VM's end answering ping; and that doctor puts them in the host-only hop's place."""

import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import docker
import pytest
from invoke import MockContext, Result

from devnet.doctor import Doctor
from devnet.errors import HopFailed
from devnet.host import linux
from devnet.system import cmd
from devnet.tunnel.dial import Dial
from devnet.tunnel.doctor_hops import (
    STALE_AFTER,
    UDP_PROBE,
    TunnelHops,
    handshake_ages,
)
from tests.unit.conftest import closed_udp_port

FIXTURES = Path(__file__).parent / "fixtures" / "tunnel"
# `wg show <iface> endpoints` on a host end that listens (dial vm): learned, and not yet
ENDPOINTS = (FIXTURES / "wg-show-endpoints.txt").read_text()
ENDPOINTS_NONE = (FIXTURES / "wg-show-endpoints-none.txt").read_text()
# `wg show cap1-wg latest-handshakes` on the sim-desktop host, tunnel up (see the README)
SHOWN = (FIXTURES / "wg-show-latest-handshakes.txt").read_text()
PEER, STAMP = SHOWN.split()
NEVER = (FIXTURES / "wg-show-latest-handshakes-never.txt").read_text()


class FakeContainers:
    def __init__(self, status):
        self.status = status

    def get(self, name):
        if self.status is None:
            raise docker.errors.NotFound(name)
        return SimpleNamespace(status=self.status, name=name)


HOST_DIALS = Dial("host", 51820)


def tunnel_dn(settings, host=None, helper="running", dial=HOST_DIALS):
    client = SimpleNamespace(containers=FakeContainers(helper), close=lambda: None)
    provider = SimpleNamespace(tunnel_endpoint=lambda: dial.endpoint, tunnel_dial=lambda: dial,
                               reach=lambda: "tunnel", tunnels=lambda: True,
                               routes_itself=lambda: False,
                               docker_client=lambda timeout=30: client, name="sim-desktop",
                               has_vm=True, dockerd_fix="invoke docker.configure")
    return SimpleNamespace(settings=settings, provider=provider, host=host, os=linux)


WG = "wg show dntest-wg latest-handshakes"


def test_handshake_ages_reads_wg_show():
    assert handshake_ages(SHOWN, int(STAMP) + 7) == {PEER: 7.0}
    assert handshake_ages(NEVER, 1e9) == {NEVER.split()[0]: None}
    assert handshake_ages("", 1e9) == {}


def test_a_recent_handshake_passes(settings):
    hops = TunnelHops(tunnel_dn(settings, MockContext(run={WG: Result(SHOWN)})))
    assert hops.handshake(now=int(STAMP) + 30) == "dntest-wg: last handshake 30s ago"


@pytest.mark.parametrize("stdout, exited, now, said", [
    (SHOWN, 0, int(STAMP) + STALE_AFTER + 60, "last handshake was 240s ago"),
    (NEVER, 0, 1e9, "never completed a handshake"),
    ("", 0, 1e9, "has no peer"),
    ("", 1, 1e9, "no WireGuard interface dntest-wg"),
])
def test_a_stale_or_missing_handshake_is_named(settings, stdout, exited, now, said):
    host = MockContext(run={WG: Result(stdout, exited=exited)})
    with pytest.raises(HopFailed, match=said):
        TunnelHops(tunnel_dn(settings, host)).handshake(now=now)


@pytest.mark.parametrize("status, said", [(None, "no container devnet-dntest-tunnel"),
                                          ("exited", "devnet-dntest-tunnel is exited")])
def test_the_helper_hop(settings, status, said):
    assert TunnelHops(tunnel_dn(settings)).helper() == "devnet-dntest-tunnel running"
    with pytest.raises(HopFailed, match=said):
        TunnelHops(tunnel_dn(settings, helper=status)).helper()


PROBE = cmd("python3", "-c", UDP_PROBE, "127.0.0.1:51820")


def test_the_endpoint_hop(settings):
    ok = MockContext(run={PROBE: Result("open\n")})
    assert TunnelHops(tunnel_dn(settings, ok)).endpoint() == "udp 127.0.0.1:51820 open"
    refused = MockContext(run={PROBE: Result("refused\n", exited=1)})
    with pytest.raises(HopFailed, match="nothing listens on udp 127.0.0.1:51820 .refused"):
        TunnelHops(tunnel_dn(settings, refused)).endpoint()


def test_the_vm_end_hop(settings):
    ping = "ping -c1 -W1 172.16.0.11"
    assert "answers ping through dntest-wg" in TunnelHops(
        tunnel_dn(settings, MockContext(run={ping: Result("")}))).vm_end()
    with pytest.raises(HopFailed, match="does not answer ping"):
        TunnelHops(tunnel_dn(settings, MockContext(run={ping: Result("", exited=1)}))).vm_end()


def test_the_probe_tells_a_closed_port_from_a_silent_one():
    """UDP_PROBE itself, on this machine's loopback: a bound silent socket is open, a port
    nobody listens on is refused."""
    port = closed_udp_port()
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", port))
    run = lambda p: subprocess.run([sys.executable, "-c", UDP_PROBE, f"127.0.0.1:{p}"],  # noqa
                                   capture_output=True, text=True)
    assert run(port).stdout == "open\n"
    silent.close()
    closed = run(port)
    assert closed.returncode == 1 and closed.stdout == "refused\n"


def test_doctor_puts_the_tunnel_hops_in_the_host_only_hops_place(settings):
    names = [name for name, _, _ in Doctor(tunnel_dn(settings)).hops()]
    assert names[:6] == ["VM running", "tunnel helper running",
                         "tunnel endpoint 127.0.0.1:51820 answers", "WireGuard handshake recent",
                         "tunnel's VM end answers", "route present and chosen"]
    assert "host-only IP answers" not in names
    fixes = {name: fix for name, _, fix in Doctor(tunnel_dn(settings)).hops()}
    assert fixes["DNS answers on 172.17.42.1"] == "invoke tunnel.dns"
    assert fixes["tunnel helper running"] == "invoke tunnel.helper"


PORT = "wg show dntest-wg listen-port"
ENDS = "wg show dntest-wg endpoints"
VM_DIALS = Dial("vm", 51820)


def test_where_the_vm_dials_the_hop_checks_the_hosts_port_and_the_learned_endpoint(settings):
    ok = MockContext(run={PORT: Result("51820\n"), ENDS: Result(ENDPOINTS)})
    hops = TunnelHops(tunnel_dn(settings, ok, dial=VM_DIALS))
    assert hops.dialed() == "dntest-wg listens on udp 51820; the VM's end came from 127.0.0.1:60274"
    name, check, fix = hops.hops()[1]
    assert name == "host listens on udp 51820, the VM dials it" and check == hops.dialed
    assert "docker logs devnet-dntest-tunnel" in fix and "host.docker.internal:51820" in fix


@pytest.mark.parametrize("port, ends, said", [
    (Result("51820\n"), Result(ENDPOINTS_NONE),
     "listens on udp 51820 but no packet from the VM's end has reached it .the VM dials "
     "host.docker.internal:51820"),
    (Result("40001\n"), Result(ENDPOINTS), "listens on udp 40001, not 51820"),
    (Result("", exited=1), Result(""), "no WireGuard interface dntest-wg")])
def test_where_the_vm_dials_a_silent_or_wrong_port_is_named(settings, port, ends, said):
    host = MockContext(run={PORT: port, ENDS: ends})
    with pytest.raises(HopFailed, match=said):
        TunnelHops(tunnel_dn(settings, host, dial=VM_DIALS)).dialed()
