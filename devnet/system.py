"""Preconditions on the machine devnet runs on: root, binaries, and one wait helper."""

from __future__ import annotations

import os
import shlex
import shutil
import time
from collections.abc import Callable

from devnet.errors import DevnetError

# Which Debian package brings each binary devnet calls, so the error says what to install.
APT_PACKAGE = {
    "ip": "iproute2",
    "nsenter": "util-linux",
    "unshare": "util-linux",
    "dockerd": "docker.io",
    "docker": "docker.io",
    "sshd": "openssh-server",
    "ssh-keygen": "openssh-client",
    "iptables": "iptables",
    "busybox": "busybox-static",
    "docker-compose": "docker-compose",
    "dig": "dnsutils",
    "ping": "iputils-ping",
    "nc": "netcat-openbsd",
    "dnsmasq": "dnsmasq-base",
    "dnsperf": "dnsperf",
    "vagrant": "vagrant",
    "nft": "nftables",
    "qemu-system-x86_64": "qemu-system-x86",
    "qemu-img": "qemu-utils",
    "debootstrap": "debootstrap",
    "mkfs.ext4": "e2fsprogs",
}
SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")
# The longest any one command in the VM may take (a dockerd restart, a `docker run`): a VM
# that stops answering mid-command must not hang devnet.
REMOTE_TIMEOUT = 120


def which(name: str) -> str | None:
    """`shutil.which`, also looking in sbin dirs that a non-root PATH often lacks."""
    path = os.environ.get("PATH", "") + os.pathsep + os.pathsep.join(SBIN_DIRS)
    return shutil.which(name, path=path)


def require_binaries(*names: str) -> None:
    missing = [n for n in names if not which(n)]
    if missing:
        pkgs = sorted({APT_PACKAGE.get(n, n) for n in missing})
        raise DevnetError(
            f"missing program(s): {', '.join(missing)}",
            f"apt-get install -y {' '.join(pkgs)}   (or run ./devnet.sh, which installs them)",
        )


def require_root(why: str) -> None:
    if os.geteuid() != 0:
        raise DevnetError(f"devnet needs root to {why}", "run it again with sudo")


def cmd(*argv) -> str:
    """One shell command line from arguments, each quoted: names are user input."""
    return shlex.join(str(a) for a in argv)


def wait_until(
    check: Callable[[], object],
    timeout: float,
    what: str,
    hint: str,
    pause: float = 0.05,
):
    """Poll `check` until it returns something truthy; the error says what it saw last.

    A check that raises DevnetError gives up at once (e.g. the daemon it waits for exited).
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = check()
            if result:
                return result
            last = result
        except DevnetError:  # the check knows it will never succeed: say so now
            raise
        except Exception as err:  # any other error: not ready yet
            last = f"{type(err).__name__}: {err}"
        if time.monotonic() >= deadline:
            raise DevnetError(
                f"timed out after {timeout:g}s waiting for {what} (last: {last})", hint
            )
        time.sleep(pause)
