"""A UDP port forward between two network namespaces: the sim's stand-in for the way Docker
Desktop's vpnkit (macOS) or gvisor-tap-vsock (Rancher, Podman, Docker Desktop's newer VMs)
carries a published UDP port from the host's loopback into the VM.

Each client address on the host's side gets its own socket on the VM's side (as a NAT keeps
one mapping per flow), so replies find their way back.

    python -m devnet.providers.desktop.udp_forward HOST_NETNS PORT VM_NETNS TARGET_PORT
"""

from __future__ import annotations

import selectors
import socket
import sys

from devnet.providers.portforward import enter_netns


def main(argv: list[str]) -> int:
    host_ns, port, vm_ns, target = argv[0], int(argv[1]), argv[2], int(argv[3])
    enter_netns(host_ns)
    outside = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    outside.bind(("127.0.0.1", port))
    enter_netns(vm_ns)  # every socket made from here on lives in the VM's namespace
    sel = selectors.DefaultSelector()
    sel.register(outside, selectors.EVENT_READ, None)
    flows: dict[tuple, socket.socket] = {}
    print(f"udp forward 127.0.0.1:{port} -> VM 127.0.0.1:{target}", file=sys.stderr, flush=True)
    while True:
        for key, _ in sel.select():
            sock, client = key.fileobj, key.data
            try:
                data, peer = sock.recvfrom(65535)
            except OSError:
                continue  # ICMP unreachable from a restarting VM end: the flow stays
            if client is None:  # host -> VM
                inside = flows.get(peer)
                if inside is None:
                    inside = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    inside.connect(("127.0.0.1", target))
                    flows[peer] = inside
                    sel.register(inside, selectors.EVENT_READ, peer)
                try:
                    inside.send(data)
                except OSError:
                    pass  # nobody listens in the VM yet: dropped, as a real forward does
            else:  # VM -> host
                outside.sendto(data, client)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
