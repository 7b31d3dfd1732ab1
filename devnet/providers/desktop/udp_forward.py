"""A UDP port forward between two network namespaces: the sim's stand-in for the way Docker
Desktop's vpnkit (macOS) or gvisor-tap-vsock (Rancher, Podman, Docker Desktop's newer VMs)
carries a published UDP port from the host's loopback into the VM.

Each client address on the host's side gets its own socket on the VM's side (as a NAT keeps
one mapping per flow), so replies find their way back; a flow idle for IDLE seconds is
forgotten, as a NAT's mapping times out. Every socket is non-blocking: a send that fails on a
connected UDP socket consumes the ICMP error that made select() report it readable, and a
blocking recvfrom would then wait forever (the forward stalled with 24 KB queued, found by
test_80's doctor case).

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


def main(argv: list[str]) -> int:
    host_ns, (addr, _, port), vm_ns, target = argv[0], argv[1].rpartition(":"), argv[2], \
        int(argv[3])
    enter_netns(host_ns)
    outside = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    outside.bind((addr or "127.0.0.1", int(port)))
    outside.setblocking(False)
    enter_netns(vm_ns)  # every socket made from here on lives in the VM's namespace
    sel = selectors.DefaultSelector()
    sel.register(outside, selectors.EVENT_READ, None)
    flows: dict[tuple, socket.socket] = {}
    used: dict[tuple, float] = {}
    print(f"udp forward {addr or '127.0.0.1'}:{port} -> 127.0.0.1:{target}", file=sys.stderr,
          flush=True)
    while True:
        ready = sel.select(timeout=IDLE / 4)
        now = time.monotonic()
        for peer in [p for p, t in used.items() if now - t > IDLE]:
            sel.unregister(flows[peer])
            flows.pop(peer).close()
            del used[peer]
        for key, _ in ready:
            sock, client = key.fileobj, key.data
            try:
                data, peer = sock.recvfrom(65535)
            except OSError:  # (BlockingIOError: the error that woke us was taken by a send)
                continue  # ICMP unreachable from a restarting VM end: the flow stays
            if client is None:  # host -> VM
                inside = flows.get(peer)
                used[peer] = time.monotonic()
                if inside is None:
                    inside = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    inside.setblocking(False)
                    inside.connect(("127.0.0.1", target))
                    flows[peer] = inside
                    sel.register(inside, selectors.EVENT_READ, peer)
                try:
                    inside.send(data)
                except OSError:
                    pass  # nobody listens in the VM yet: dropped, as a real forward does
            else:  # VM -> host
                used[client] = time.monotonic()
                try:
                    outside.sendto(data, client)
                except OSError:
                    pass  # the host's end is gone or its buffer full: dropped, as UDP is


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
