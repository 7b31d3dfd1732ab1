"""sim-desktop's UDP forward (the stand-in for vpnkit's published UDP port), on loopback in
one namespace (entering the host's and the VM's needs root: e2e and bench/tunnel_cost.py)."""

import socket
import threading
import time
from pathlib import Path

import pytest

from devnet.providers.desktop import udp_forward
from devnet.providers.desktop.udp_forward import Forwarder
from tests.unit.conftest import closed_udp_port


def udp(port: int = 0) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.settimeout(2)
    return s


@pytest.fixture
def fwd():
    made = []

    def make(target: int, idle: float = udp_forward.IDLE) -> Forwarder:
        outside = udp_forward.udp_socket()
        outside.bind(("127.0.0.1", 0))
        f = Forwarder(outside, target, idle)
        made.append(f)
        return f

    yield make
    for f in made:
        for flow in f.flows.values():
            flow.sock.close()
        f.outside.close()
        f.sel.close()


def pump(f: Forwarder, until, timeout: float = 2.0):
    end = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < end, "the forward did not get there"
        f.step(0.02)


def waiting(s: socket.socket) -> bool:
    s.setblocking(False)
    try:
        s.recvfrom(1, socket.MSG_PEEK)
        return True
    except BlockingIOError:
        return False
    finally:
        s.settimeout(2)


def first_flow(fwd, payload: bytes):
    """A forwarder to a VM-side socket, and one client whose first datagram has crossed:
    (vm socket, forwarder, client)."""
    vm = udp()
    f = fwd(vm.getsockname()[1])
    client = udp()
    client.sendto(payload, f.outside.getsockname())
    pump(f, lambda: waiting(vm))
    return vm, f, client


def test_datagrams_cross_both_ways_and_each_client_gets_its_own_flow(fwd):
    vm = udp()
    f = fwd(vm.getsockname()[1])
    a, b = udp(), udp()
    a.sendto(b"from a", f.outside.getsockname())
    b.sendto(b"from b", f.outside.getsockname())
    got = {}
    for _ in range(2):
        pump(f, lambda: waiting(vm))
        data, src = vm.recvfrom(100)
        got[data] = src
    assert got[b"from a"] != got[b"from b"]  # one VM-side socket per client, as a NAT maps
    vm.sendto(b"to b", got[b"from b"])
    vm.sendto(b"to a", got[b"from a"])
    pump(f, lambda: waiting(a) and waiting(b))
    assert a.recvfrom(100) == (b"to a", f.outside.getsockname())
    assert b.recvfrom(100) == (b"to b", f.outside.getsockname())


def test_it_keeps_forwarding_after_the_vm_end_refused(fwd):
    port = closed_udp_port()
    f = fwd(port)
    client = udp()
    client.sendto(b"nobody yet", f.outside.getsockname())
    pump(f, lambda: len(f.flows) == 1)
    for _ in range(5):  # the ICMP unreachable lands on the flow's socket: taken, not fatal
        f.step(0.02)
    vm = udp(port)  # the VM's end comes (back) up on the same port
    client.sendto(b"hello", f.outside.getsockname())
    pump(f, lambda: waiting(vm))
    data, src = vm.recvfrom(100)
    assert data == b"hello"
    vm.sendto(b"back", src)
    pump(f, lambda: waiting(client))
    assert client.recv(100) == b"back"


def test_a_wake_up_with_nothing_to_read_returns_at_once(fwd):
    vm, f, client = first_flow(fwd, b"x")
    flow = next(iter(f.flows.values()))
    assert f.outside.gettimeout() == 0.0 and flow.sock.gettimeout() == 0.0
    # what a stale select() result, or an error already taken by a send, leads to: a blocking
    # read would wait for ever (the guard below only keeps a broken forward from hanging)
    t = threading.Thread(target=lambda: (f.from_host(), f.from_vm(flow)), daemon=True)
    t.start()
    t.join(5)
    assert not t.is_alive()


def test_a_burst_longer_than_a_batch_arrives_whole_and_in_order(fwd):
    vm = udp()
    vm.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    f = fwd(vm.getsockname()[1])
    client = udp()
    count = udp_forward.BATCH * 3 + 5
    for i in range(count):
        client.sendto(b"%d" % i, f.outside.getsockname())
    got = []
    while len(got) < count:
        f.step(0.02)
        while waiting(vm):
            got.append(int(vm.recv(100)))
    assert got == list(range(count))


def test_an_idle_flow_is_forgotten_and_a_new_datagram_makes_a_new_one(fwd):
    vm, f, client = first_flow(fwd, b"one")
    _, first = vm.recvfrom(100)
    old = f.flows[client.getsockname()].sock
    t0 = time.monotonic()  # sweeps at chosen times: no test waits IDLE seconds
    f.sweep(t0)  # it carried a datagram since the last sweep: kept, idle from now on
    f.sweep(t0 + udp_forward.IDLE - 1)
    assert len(f.flows) == 1
    f.sweep(t0 + udp_forward.IDLE)  # nothing for IDLE seconds: the mapping expires
    assert not f.flows and old.fileno() == -1  # and its socket is closed
    client.sendto(b"two", f.outside.getsockname())
    pump(f, lambda: waiting(vm))
    data, second = vm.recvfrom(100)
    assert data == b"two" and second != first


def test_a_datagram_either_way_keeps_the_flow(fwd):
    vm, f, client = first_flow(fwd, b"out")
    _, inside = vm.recvfrom(100)
    t0 = time.monotonic()
    f.sweep(t0)
    vm.sendto(b"reply", inside)  # only the VM's side speaks this time
    pump(f, lambda: waiting(client))
    f.sweep(t0 + udp_forward.IDLE)
    assert len(f.flows) == 1
    f.sweep(t0 + 2 * udp_forward.IDLE)
    assert not f.flows


def test_socket_buffers_are_raised_as_far_as_the_kernel_allows():
    cap = int(Path("/proc/sys/net/core/rmem_max").read_text())
    s = udp_forward.udp_socket()
    try:  # Linux reports twice what was granted (its bookkeeping share)
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == 2 * min(
            udp_forward.SOCKBUF, cap)
    finally:
        s.close()
