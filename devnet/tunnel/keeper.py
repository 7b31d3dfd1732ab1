"""The tunnel's keeper on the host: when the VM's end stops answering (the VM or its dockerd
restarted, the helper was killed, the host's end restarted), WireGuard alone would wait for
its rekey timers (15 s and more) before a new handshake. The keeper runs the dialing end's
redial at once: where the host dials, it re-applies the host's config (`wg setconf`, which
drops the stale session, so the next packet starts a handshake); where the VM dials, it asks
the helper to dial again (`docker exec <helper> tunnel-redial`): the host cannot, it has no
endpoint for the VM until the VM's handshake tells it one.

    python -m devnet.tunnel.keeper IFACE VM_IP REDIAL-COMMAND...
"""

from __future__ import annotations

import subprocess
import sys
import time

from devnet.host import this_machine

PAUSE = 0.5  # seconds between probes while the tunnel answers


def answers(vm_ip: str) -> bool:
    return subprocess.run(this_machine().ping_argv(vm_ip), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def link_alive(iface: str) -> bool:
    return subprocess.run(["wg", "show", iface, "listen-port"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def redial(command: list[str]) -> bool:
    return subprocess.run(command, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def main(argv: list[str]) -> int:
    iface, vm_ip, command = argv[0], argv[1], argv[2:]
    down_since = None
    while True:
        if answers(vm_ip):
            if down_since is not None:
                print(f"keeper: {vm_ip} answers again after {time.monotonic() - down_since:.1f}s",
                      file=sys.stderr, flush=True)
                down_since = None
            time.sleep(PAUSE)
            continue
        if not link_alive(iface):
            return 1  # the interface is gone: tunnel.link's undo, or wireguard-go died
        if down_since is None:
            down_since = time.monotonic()
            print(f"keeper: {vm_ip} silent, redialing", file=sys.stderr, flush=True)
        redial(command)  # fails while the VM's end is away (dockerd restarting): next round
        time.sleep(0.1)  # a ping that fails at once (no route yet) must not spin


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
