"""The tunnel's names, keys and the host's WireGuard config: every fact about them here.

Keys are made per instance with `wg genkey` and never leave the state dir (0600), except the
VM's private key, which the helper container holds (the VM's end has to have it).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devnet.errors import DevnetError
from devnet.system import which
from devnet.tunnel.dial import Dial


@dataclass(frozen=True)
class Tunnel:
    """What one instance's tunnel is called and where its files are."""

    instance: str
    state_dir: Path

    @property
    def host_iface(self) -> str:  # wireguard-go's control socket is /var/run/wireguard/<it>
        return f"{self.instance}-wg"

    @property
    def vm_iface(self) -> str:
        return f"{self.instance}-wgvm"

    @property
    def container(self) -> str:
        return f"devnet-{self.instance}-tunnel"

    @property
    def image(self) -> str:
        return f"devnet/tunnel-helper:{self.instance}"

    @property
    def dir(self) -> Path:
        return self.state_dir / "tunnel"

    def key(self, side: str) -> Path:
        return self.dir / f"{side}.key"

    @property
    def host_conf(self) -> Path:
        return self.dir / "host.conf"

    @property
    def wg_pidfile(self) -> Path:
        return self.dir / "wireguard-go.pid"

    @property
    def keeper_pidfile(self) -> Path:
        return self.dir / "keeper.pid"


def _wg(*args: str, stdin: str | None = None) -> str:
    wg = which("wg")
    if not wg:
        raise DevnetError("`wg` is not installed (WireGuard's tools)",
                          "apt-get install wireguard-tools   (macOS: brew install wireguard-tools)")
    return subprocess.run([wg, *args], input=stdin, capture_output=True, text=True,
                          check=True).stdout.strip()


def ensure_keys(t: Tunnel) -> list[str]:
    """Make the host's and the VM's key pairs unless present; which ones were made."""
    t.dir.mkdir(parents=True, exist_ok=True)
    os.chmod(t.dir, 0o700)
    made = []
    for side in ("host", "vm"):
        path = t.key(side)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(_wg("genkey") + "\n")
            made.append(side)
    return made


def private(t: Tunnel, side: str) -> str:
    try:
        return t.key(side).read_text().strip()
    except FileNotFoundError as err:
        raise DevnetError(f"the tunnel's {side} key {t.key(side)} is missing",
                          "invoke up   (makes the keys again)") from err


def public(t: Tunnel, side: str) -> str:
    return _wg("pubkey", stdin=private(t, side) + "\n")


def host_config(t: Tunnel, dial: Dial) -> str:
    """The host end's `wg setconf` file: a listening port or the VM's endpoint, as the dial
    says. The peer may send from any address (0.0.0.0/0): which packets enter the tunnel is
    the kernel's routes' business (one per Docker network), so a network Docker makes later
    needs only its route."""
    return (f"[Interface]\nPrivateKey = {private(t, 'host')}\n{dial.host_interface()}\n"
            f"[Peer]\nPublicKey = {public(t, 'vm')}\nAllowedIPs = 0.0.0.0/0\n"
            f"{dial.host_peer()}")


def write_host_config(t: Tunnel, dial: Dial) -> None:
    text = host_config(t, dial)
    fd = os.open(t.host_conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def remove(t: Tunnel) -> list[str]:
    """Delete the keys and the config; the names of what was there."""
    gone = []
    for path in (t.key("host"), t.key("vm"), t.host_conf):
        if path.exists():
            path.unlink()
            gone.append(path.name)
    try:
        t.dir.rmdir()
    except OSError:
        pass
    return gone
