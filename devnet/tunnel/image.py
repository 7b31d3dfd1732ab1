"""The tunnel helper's image, built offline: no registry, `docker import` of a root filesystem
holding Debian's static busybox, wireguard-go, wg and iptables (both of its backends, as the
VM's dockerd may use either), with the shared libraries they need.

The binaries are this machine's: the VM must run the same architecture (a Linux laptop, an
Intel Mac's Docker Desktop, WSL2). An Apple-silicon Mac needs arm64 ones.
"""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import tarfile
from pathlib import Path

from devnet.errors import DevnetError
from devnet.system import require_binaries, which

LABEL = "devnet.tunnel-helper"
PROGRAMS = ("busybox", "wireguard-go", "wg", "xtables-nft-multi", "xtables-legacy-multi")
XTABLES = Path("/usr/lib/x86_64-linux-gnu/xtables")  # iptables' extensions (-j ACCEPT's too)

# The VM's end. Runs as the container's PID 1 at every (re)start: the VM kernel's WireGuard
# where it has one (Docker Desktop's LinuxKit kernel does), else a new wireguard-go; the
# address, the peer, and one DOCKER-USER accept for what comes out of the tunnel (Docker drops
# forwarded traffic to containers otherwise). TERM (docker stop) takes the rule back out, and
# the kernel's link with it (the helper shares the VM's network: the link would outlive it).
# With ENDPOINT set (devnet.tunnel.dial: the VM dials) the peer is the host at ENDPOINT with a
# keepalive, and WireGuard sends its first handshake as the link comes up; with PORT set it
# listens there for the host's. `wg` resolves host.docker.internal as the VM does.
ENTRY = r"""#!/bin/sh
set -e
if [ -n "$ENDPOINT" ]; then DIAL="endpoint $ENDPOINT persistent-keepalive $KEEPALIVE"; fi
mkdir -p /var/run/wireguard
ip link del "$IFACE" 2>/dev/null || true
if ip link add "$IFACE" type wireguard 2>/dev/null; then
  IMPL=kernel
  while :; do sleep 3600; done &
  wgpid=$!
else
  IMPL=wireguard-go
  WG_PROCESS_FOREGROUND=1 wireguard-go "$IFACE" &
  wgpid=$!
  i=0
  until [ -S "/var/run/wireguard/$IFACE.sock" ]; do
    i=$((i+1)); [ $i -lt 100 ] || { echo "wireguard-go did not start"; exit 1; }
    sleep 0.05
  done
fi
wg set "$IFACE" private-key /etc/wireguard/vm.key ${PORT:+listen-port "$PORT"} \
  peer "$HOST_PUB" allowed-ips "$HOST_IP/32" $DIAL \
  || { echo "could not set the peer (${ENDPOINT:-listening on $PORT}): does the VM resolve" \
            "${ENDPOINT%:*}?"; exit 1; }
ip addr add "$VM_CIDR" dev "$IFACE"
ip link set "$IFACE" up
# the iptables backend whose DOCKER-USER chain dockerd made (legacy or nft)
IPT=
for b in xtables-legacy-multi xtables-nft-multi; do
  if $b iptables -w -n -L DOCKER-USER >/dev/null 2>&1; then IPT="$b iptables"; break; fi
done
RULE="DOCKER-USER -i $IFACE -j ACCEPT"
if [ -n "$IPT" ]; then $IPT -w -C $RULE 2>/dev/null || $IPT -w -I $RULE; fi
echo "tunnel up: $IFACE ($IMPL) $VM_CIDR <-> $HOST_IP," \
  "${ENDPOINT:+dials $ENDPOINT}${PORT:+udp $PORT}, DOCKER-USER via ${IPT:-none}"
stop() {
  [ -n "$IPT" ] && $IPT -w -D $RULE 2>/dev/null
  kill "$wgpid"
  [ "$IMPL" = wireguard-go ] || ip link del "$IFACE" 2>/dev/null
  exit 0
}
trap stop TERM INT
wait "$wgpid"
"""

# Where the VM dials: drop the session and dial again at once, as the keeper asks when the
# host's end has restarted (a re-added peer with a keepalive starts its handshake at once;
# a stale session would wait for WireGuard's rekey, minutes).
REDIAL = r"""#!/bin/sh
set -e
[ -n "$ENDPOINT" ] || { echo "this helper listens (PORT=$PORT): the host dials it"; exit 1; }
wg set "$IFACE" peer "$HOST_PUB" remove
wg set "$IFACE" peer "$HOST_PUB" allowed-ips "$HOST_IP/32" endpoint "$ENDPOINT" \
  persistent-keepalive "$KEEPALIVE"
"""


def _libraries(binary: str) -> set[str]:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    return set(re.findall(r"(/\S+\.so[.\d]*)", out))


def _add_file(tar: tarfile.TarFile, arcname: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(arcname)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def _add_link(tar: tarfile.TarFile, arcname: str, target: str) -> None:
    info = tarfile.TarInfo(arcname)
    info.type, info.linkname = tarfile.SYMTYPE, target
    tar.addfile(info)


def rootfs_tar() -> bytes:
    require_binaries(*PROGRAMS)
    paths = {name: which(name) for name in PROGRAMS}
    libs = set().union(*(_libraries(p) for p in paths.values()))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("bin", "etc", "etc/wireguard", "tmp", "proc", "sys", "dev", "run", "var"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o700 if d == "etc/wireguard" else 0o755
            tar.addfile(info)
        _add_link(tar, "var/run", "../run")
        for name, path in paths.items():
            tar.add(path, arcname=f"bin/{name}")
        applets = subprocess.run([paths["busybox"], "--list"], capture_output=True, text=True,
                                 check=True).stdout.split()
        for applet in applets:
            if applet not in PROGRAMS:
                _add_link(tar, f"bin/{applet}", "busybox")
        for lib in sorted(libs):
            tar.add(str(Path(lib).resolve()), arcname=lib.lstrip("/"))
        if XTABLES.is_dir():
            tar.add(str(XTABLES), arcname=str(XTABLES).lstrip("/"))
        _add_file(tar, "bin/tunnel-entry", ENTRY.encode(), 0o755)
        _add_file(tar, "bin/tunnel-redial", REDIAL.encode(), 0o755)
        # the VM's hosts file first (where a Desktop VM may name host.docker.internal), then DNS
        _add_file(tar, "etc/nsswitch.conf", b"hosts: files dns\n", 0o644)
        _add_file(tar, "etc/passwd", b"root:x:0:0:root:/:/bin/sh\n", 0o644)
    return buf.getvalue()


def digest() -> str:
    """What the image is made of (the entry script, the binaries), as its label's value: an
    image of an older devnet or another wireguard-go is imported anew."""
    h = hashlib.sha256(ENTRY.encode() + REDIAL.encode())
    for name in PROGRAMS:
        path = which(name)
        h.update(Path(path).read_bytes() if path else name.encode())
    return h.hexdigest()[:16]


def ensure(client, tag: str) -> str:
    """Import the helper image as `tag` unless this very content is there; what was done."""
    want = digest()
    try:
        if (client.images.get(tag).labels or {}).get(LABEL) == want:
            return f"image {tag} present"
    except Exception:  # docker.errors.ImageNotFound, or an API error: import it
        pass
    repo, _, version = tag.partition(":")
    try:
        client.api.import_image_from_data(
            rootfs_tar(), repository=repo, tag=version,
            changes=[f"LABEL {LABEL}={want}", 'CMD ["/bin/tunnel-entry"]'])
        client.images.get(tag)
    except Exception as err:
        raise DevnetError(f"could not import the tunnel helper image {tag}: {err}",
                          "invoke status   (does the VM's Docker answer?)") from err
    return f"imported {tag} (busybox, wireguard-go, wg, iptables)"
