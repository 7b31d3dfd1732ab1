"""A UDP port forward between two network namespaces: the sim's stand-in for the way Docker
Desktop's vpnkit (macOS) or gvisor-tap-vsock (Rancher, Podman, Docker Desktop's newer VMs)
carries a published UDP port from the host's loopback into the VM.

Each client address on the host's side gets its own socket on the VM's side (as a NAT keeps
one mapping per flow), so replies find their way back; a flow idle for IDLE seconds is
forgotten, as a NAT's mapping times out. Every socket is non-blocking: a send that fails on a
connected UDP socket consumes the ICMP error that made select() report it readable, and a
blocking recvfrom would then wait forever (the forward stalled with 24 KB queued, found by
test_80's doctor case).

It carries a WireGuard tunnel, so it is built for packet rate (bench/tunnel_cost.py measures
it): a readable socket is drained up to BATCH datagrams per wake-up, into one preallocated
buffer, with no clock read or dict write per datagram, and socket buffers big enough that a
burst of the tunnel's packets is not dropped (a drop inside the tunnel is a TCP retransmit).

    python -m devnet.providers.desktop.udp_forward HOST_NETNS [ADDR:]PORT VM_NETNS TARGET_PORT

(ADDR, 127.0.0.1 when not given, is where it listens. Turned round, VM_NETNS
192.168.65.254:PORT HOST_NETNS PORT, it carries the VM's packets to host.docker.internal to
the host's loopback port, as vpnkit does when the VM's end dials.)
"""

from __future__ import annotations

import selectors
import socket
import sys
import time

from devnet.providers.portforward import enter_netns

IDLE = 180.0  # seconds: longer than WireGuard's 25 s keepalive, as a NAT's UDP timeout is
BATCH = 64  # datagrams read per wake-up of one socket before the other side gets its turn
SOCKBUF = 4 << 20  # bytes; the kernel caps it at net.core.[rw]mem_max (4 MiB on Debian)


def udp_socket() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        s.setsockopt(socket.SOL_SOCKET, opt, SOCKBUF)
    return s


class Flow:
    """One host-side client and its socket into the VM; `active` says it carried a datagram
    since the last sweep (cheaper than a clock read per datagram)."""

    __slots__ = ("peer", "sock", "active", "idle_since")

    def __init__(self, peer, sock: socket.socket, now: float):
        self.peer, self.sock, self.active, self.idle_since = peer, sock, True, now


class Forwarder:
    """`outside` (bound, in the host's namespace) -> 127.0.0.1:`target` from sockets made in
    the current namespace; `step()` is one round of waiting and forwarding."""

    def __init__(self, outside: socket.socket, target: int, idle: float = IDLE):
        self.outside, self.target, self.idle = outside, ("127.0.0.1", target), idle
        outside.setblocking(False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(outside, selectors.EVENT_READ, None)
        self.flows: dict[tuple, Flow] = {}
        self.buf = bytearray(65535)
        self.view = memoryview(self.buf)
        self.swept = time.monotonic()

    def step(self, timeout: float | None = None) -> None:
        for key, _ in self.sel.select(self.idle / 4 if timeout is None else timeout):
            if key.data is None:
                self.from_host()
            else:
                self.from_vm(key.data)
        now = time.monotonic()
        if now - self.swept >= self.idle / 4:
            self.sweep(now)

    def open(self, peer) -> Flow:
        sock = udp_socket()
        sock.connect(self.target)
        flow = self.flows[peer] = Flow(peer, sock, time.monotonic())
        self.sel.register(sock, selectors.EVENT_READ, flow)
        return flow

    def from_host(self) -> None:
        recv, buf, view = self.outside.recvfrom_into, self.buf, self.view
        flow = None
        for _ in range(BATCH):
            try:
                n, peer = recv(buf)
            except BlockingIOError:
                break
            except OSError:
                continue  # an error queued on the socket, taken instead of a datagram
            if flow is None or flow.peer != peer:
                flow = self.flows.get(peer) or self.open(peer)
                flow.active = True
            try:
                flow.sock.send(view[:n])
            except OSError:
                pass  # nobody listens in the VM yet, or its buffer is full: dropped, as UDP is

    def from_vm(self, flow: Flow) -> None:
        recv, send, buf, view = flow.sock.recv_into, self.outside.sendto, self.buf, self.view
        flow.active = True
        for _ in range(BATCH):
            try:
                n = recv(buf)
            except BlockingIOError:
                break  # (also when the error that woke us was taken by a send)
            except OSError:
                continue  # ICMP unreachable from a restarting VM end: the flow stays
            try:
                send(view[:n], flow.peer)
            except OSError:
                pass  # the host's end is gone or its buffer full: dropped, as UDP is

    def sweep(self, now: float) -> None:
        """Forget flows that carried nothing for `idle` seconds, as a NAT's mapping expires."""
        self.swept = now
        for peer, flow in list(self.flows.items()):
            if flow.active:
                flow.active, flow.idle_since = False, now
            elif now - flow.idle_since >= self.idle:
                self.sel.unregister(flow.sock)
                flow.sock.close()
                del self.flows[peer]


def main(argv: list[str]) -> int:
    host_ns, (addr, _, port), vm_ns, target = argv[0], argv[1].rpartition(":"), argv[2], \
        int(argv[3])
    enter_netns(host_ns)
    outside = udp_socket()
    outside.bind((addr or "127.0.0.1", int(port)))
    enter_netns(vm_ns)  # every socket made from here on lives in the VM's namespace
    forwarder = Forwarder(outside, target)
    print(f"udp forward {addr or '127.0.0.1'}:{port} -> 127.0.0.1:{target}", file=sys.stderr,
          flush=True)
    while True:
        forwarder.step()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
