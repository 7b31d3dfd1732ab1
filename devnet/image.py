"""The offline test image: a root filesystem with Debian's static busybox, `docker import`ed.

There is no registry to pull from, so tests (and users trying the README) get an image that
has a shell, `nc`, `hostname` and an echo server, tagged `devnet/busybox` and, because the
walk-through's containers run `ubuntu`, `ubuntu` too.
"""

from __future__ import annotations

import io
import subprocess
import tarfile

from devnet.errors import DevnetError
from devnet.system import require_binaries, which

TAGS = ("devnet/busybox:latest", "ubuntu:latest")
LABEL = "devnet.test-image"
ECHO_SERVER = b"#!/bin/sh\n# greets with the container's hostname, then echoes\n" \
    b'echo "hello from $(hostname)"\nexec cat\n'


def rootfs_tar() -> bytes:
    require_binaries("busybox")
    busybox = which("busybox")
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("bin", "etc", "tmp", "root", "proc", "sys", "dev"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        tar.add(busybox, arcname="bin/busybox")
        for name in applets.stdout.split():
            if name != "busybox":
                link = tarfile.TarInfo(f"bin/{name}")
                link.type, link.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(link)
        files = {
            "bin/echo-server": (ECHO_SERVER, 0o755),
            "etc/passwd": (b"root:x:0:0:root:/root:/bin/sh\n", 0o644),
            "etc/group": (b"root:x:0:\n", 0o644),
        }
        for path, (data, mode) in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def ensure(client) -> str:
    """Import the image unless every tag already points at a devnet test image."""
    have = []
    for tag in TAGS:
        try:
            if LABEL in (client.images.get(tag).labels or {}):
                have.append(tag)
        except Exception:  # docker.errors.ImageNotFound, or an API error: import it
            pass
    if len(have) == len(TAGS):
        return f"already done: {', '.join(TAGS)} present"
    repo, tag = TAGS[0].split(":")
    try:
        client.api.import_image_from_data(
            rootfs_tar(), repository=repo, tag=tag,
            changes=[f"LABEL {LABEL}=busybox-static", 'CMD ["/bin/sh"]'],
        )
        image = client.images.get(TAGS[0])
        for extra in TAGS[1:]:
            image.tag(*extra.split(":"))
    except Exception as err:
        raise DevnetError(f"could not import the test image: {err}", "invoke status") from err
    return f"imported {', '.join(TAGS)} from busybox-static"
