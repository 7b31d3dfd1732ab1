"""An offline Python base image made from this machine's Debian python3, `docker import`ed:
the base for the DNS container (devnet.dns.image) where the VM reaches no registry, as in
devnet's own tests. Only the interpreter, its standard library and the shared libraries they
load (found with ldd) go in: ~40 MB.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path

from devnet.errors import DevnetError

TAG = "devnet/python:3.11"
PYTHON = Path("/usr/bin/python3.11")
STDLIB = Path("/usr/lib/python3.11")
SKIP = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "__pycache__",
        "pydoc_data", "site-packages", "dist-packages"}


def shared_libraries(binaries: list[Path]) -> set[Path]:
    """Every library `ldd` says these binaries load (the loader included)."""
    found = set()
    for path in binaries:
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True)
        for line in out.stdout.splitlines():
            words = line.split()
            target = words[2] if "=>" in words and len(words) > 2 else words[0]
            if target.startswith("/"):
                found.add(Path(target))
    return found


def rootfs_tar() -> bytes:
    if not PYTHON.exists():
        raise DevnetError(f"{PYTHON} is not installed", "apt-get install -y python3.11")
    modules = [p for p in STDLIB.rglob("*") if p.is_file()
               and not SKIP & set(p.relative_to(STDLIB).parts)]
    libs = shared_libraries([PYTHON] + [p for p in modules if p.suffix == ".so"])
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in [PYTHON, *modules, *sorted(libs)]:
            tar.add(path.resolve(), arcname=str(path).lstrip("/"), recursive=False)
        for name in ("usr/bin/python3", "usr/local/bin/python3"):
            link = tarfile.TarInfo(name)
            link.type, link.linkname = tarfile.SYMTYPE, "/usr/bin/python3.11"
            tar.addfile(link)
        tmp = tarfile.TarInfo("tmp")
        tmp.type, tmp.mode = tarfile.DIRTYPE, 0o1777
        tar.addfile(tmp)
    return buf.getvalue()


def ensure(client) -> str:
    """Import the image unless it is there."""
    import docker.errors  # noqa: PLC0415  (the docker SDK costs ~0.2 s to import: only where a client is made)

    try:
        client.images.get(TAG)
        return f"already done: {TAG} present"
    except docker.errors.ImageNotFound:
        pass
    repo, tag = TAG.split(":")
    client.api.import_image_from_data(rootfs_tar(), repository=repo, tag=tag,
                                      changes=['CMD ["python3"]'])
    return f"imported {TAG} from {PYTHON} ({sys.version.split()[0]} here)"
