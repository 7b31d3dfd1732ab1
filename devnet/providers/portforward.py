"""A TCP port-forward from the real machine's loopback into a network namespace.

The sim's stand-in for VirtualBox's NAT rule `ssh: 127.0.0.1:2222 -> guest:22`: it listens on
loopback outside, and connects from inside the VM's namespace. Run as
`python -m devnet.providers.portforward LISTEN_PORT NETNS_PATH TARGET_PORT`.
"""

from __future__ import annotations

import ctypes
import os
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000


def enter_netns(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


def pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (dst, src):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(listener: socket.socket, target_port: int) -> None:
    while True:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection(("127.0.0.1", target_port), timeout=5)
            upstream.settimeout(None)
        except OSError:
            client.close()
            continue
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=pipe, args=(a, b), daemon=True).start()


def main(argv: list[str]) -> int:
    listen_port, netns_path, target_port = int(argv[0]), argv[1], int(argv[2])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", listen_port))
    listener.listen(64)
    # The listener stays in the namespace it was made in; sockets made from now on, and the
    # threads started from here, belong to the VM's namespace.
    enter_netns(netns_path)
    serve(listener, target_port)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
