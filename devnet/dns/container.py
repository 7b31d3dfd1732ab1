"""devnet's DNS service as a container, for VMs without Python (boot2docker's Tiny Core, the
docker-machine ISO).

The image is built by the VM's own dockerd from a Python base image (devnet.dns.image, pulled
once) plus devnet's code and the pure-Python packages the service needs, copied from the
environment devnet runs in: the build needs no pip and no network beyond the base image, and
the service runs the very versions the tests ran. It runs with the VM's network (so it listens
on the bridge IP, as the process would), the Docker socket, and /run/devnet-dns mounted, where
it writes the same status file that `dns.status` and the step's check read over SSH.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import tarfile
from pathlib import Path

from devnet.errors import DevnetError
from devnet.paths import PROJECT_DIR

NAME = "devnet-dns"
RESOLVED_DIR = "/run/systemd/resolve"  # systemd-resolved's files: the real servers
PACKAGES = ("dns", "docker", "requests", "urllib3", "idna", "certifi", "charset_normalizer")
DOCKERFILE = """\
FROM {base}
COPY . /opt/devnet
ENV PYTHONPATH=/opt/devnet PYTHONDONTWRITEBYTECODE=1
ENTRYPOINT ["python3", "-m", "devnet.dns.service"]
"""


def sources() -> list[tuple[str, Path]]:
    """(path in the image, file here) for devnet's package and the service's dependencies;
    no compiled modules (charset_normalizer has a pure-Python fallback), so any CPU works."""
    found = [(f"devnet/{p.relative_to(PROJECT_DIR / 'devnet')}", p)
             for p in sorted((PROJECT_DIR / "devnet").rglob("*.py"))]
    for name in PACKAGES:
        root = Path(importlib.util.find_spec(name).origin).parent
        found += [(f"{name}/{p.relative_to(root)}", p) for p in sorted(root.rglob("*"))
                  if p.is_file() and p.suffix not in (".so", ".pyc")]
    return found


def context(base: str) -> tuple[bytes, str]:
    """The build context (a tar with the Dockerfile) and the tag naming its content."""
    digest = hashlib.sha256(base.encode())
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        files = [("Dockerfile", DOCKERFILE.format(base=base).encode())]
        files += [(name, path.read_bytes()) for name, path in sources()]
        for name, data in files:
            digest.update(name.encode() + b"\0" + data)
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue(), f"devnet/dns:{digest.hexdigest()[:12]}"


def ensure_image(client, base: str) -> str:
    """Build the image in the VM unless this exact content is there already; its tag."""
    import docker.errors  # noqa: PLC0415  (the docker SDK costs ~0.2 s to import: only where a client is made)

    data, tag = context(base)
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    try:
        client.images.build(fileobj=io.BytesIO(data), custom_context=True, tag=tag, rm=True)
    except (docker.errors.BuildError, docker.errors.APIError) as err:
        raise DevnetError(
            f"the VM's dockerd could not build {tag} from {base}: {err}",
            f"the first build pulls {base}: check the VM reaches its registry, or set "
            "devnet.dns.image to a Python 3 image the VM has") from err
    return tag


def run_argv(tag: str, service_args: list[str], run_dir: str,
             resolved: bool = False) -> list[str]:
    """`docker run` in the VM (over SSH, like every in-VM command). The VM's own resolv.conf
    is mounted: Docker would give the container daemon.json's --dns, devnet itself, and the
    service forwards to the resolvers there; where that is systemd-resolved's stub (colima),
    resolved's directory too, whose resolv.conf lists the real servers."""
    extra = ["-v", f"{RESOLVED_DIR}:{RESOLVED_DIR}:ro"] if resolved else []
    return ["docker", "run", "-d", "--name", NAME, "--restart", "always", "--network", "host",
            "--label", "devnet=dns", "-v", "/var/run/docker.sock:/var/run/docker.sock",
            "-v", "/etc/resolv.conf:/etc/resolv.conf:ro", *extra,
            "-v", f"{run_dir}:{run_dir}", tag, *service_args]


def alive(dn) -> bool:
    out = dn.vm_run("docker", "inspect", "-f", "{{.State.Running}}", NAME, warn=True)
    return out.ok and out.stdout.strip() == "true"


def exists(dn) -> bool:
    return dn.vm_run("docker", "inspect", "-f", "{{.Id}}", NAME, warn=True).ok


def remove(dn) -> None:
    dn.vm_run("docker", "rm", "-f", NAME, warn=True)
