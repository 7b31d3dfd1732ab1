"""The tunnel's keeper on the host: when the VM's end stops answering (the VM or its dockerd
restarted, the helper was killed), WireGuard alone would wait for its rekey timers (15 s and
more) before a new handshake; the keeper re-applies the host's config, which drops the stale
session, so the next packet starts a handshake with the new VM end at once.

    python -m devnet.tunnel.keeper IFACE VM_IP CONF
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


def rehandshake(iface: str, conf: str) -> bool:
    return subprocess.run(["wg", "setconf", iface, conf], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE).returncode == 0


def main(argv: list[str]) -> int:
    iface, vm_ip, conf = argv
    down_since = None
    while True:
        if answers(vm_ip):
            if down_since is not None:
                print(f"keeper: {vm_ip} answers again after {time.monotonic() - down_since:.1f}s",
                      file=sys.stderr, flush=True)
                down_since = None
            time.sleep(PAUSE)
            continue
        if down_since is None:
            down_since = time.monotonic()
            print(f"keeper: {vm_ip} silent, re-handshaking", file=sys.stderr, flush=True)
        if not rehandshake(iface, conf):
            return 1  # the interface is gone: tunnel.link's undo, or wireguard-go died
        time.sleep(0.1)  # a ping that fails at once (no route yet) must not spin


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
