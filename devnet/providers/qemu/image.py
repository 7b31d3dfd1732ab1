"""The qemu provider's VM image: Debian built offline by debootstrap, cached by its inputs.

The cache key hashes everything the image is made from (package list, suite, the pinned
Python packages of the DNS service, the files devnet writes into it, a version): while none
of them changes, `vm.image` reuses the image. devnet's own code is not in it (it changes at
every commit); the provider shares it with the VM at boot.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from devnet.dns import VM_REQUIREMENTS
from devnet.errors import DevnetError
from devnet.paths import PROJECT_DIR
from devnet.provider_catalog import OPTIONS
from devnet.providers.qemu import guest
from devnet.system import cmd

VERSION = 1  # bump when the build steps change in a way the other inputs do not show
SUITE, PYTHON = "bookworm", "3.11"  # PYTHON: the suite's python3, for the wheels' tags
PACKAGES = ("systemd-sysv", "dbus", "udev", "kmod", "linux-image-amd64", "openssh-server",
            "iproute2", "iptables", "docker.io", "python3", "python3-venv")
CACHE_ROOT = Path(OPTIONS["qemu"]["image_cache"])  # the registry's default
LOCK = PROJECT_DIR / "requirements.lock"
DISK_MB = 6144  # the root file system: a sparse file, ~1 GB of it used
CHROOT_ENV = ("/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
              "LC_ALL=C.UTF-8", "DEBIAN_FRONTEND=noninteractive")


@dataclass(frozen=True)
class Image:
    dir: Path

    disk = property(lambda self: self.dir / "root.ext4")
    kernel = property(lambda self: self.dir / "vmlinuz")
    initrd = property(lambda self: self.dir / "initrd.img")
    manifest = property(lambda self: self.dir / "manifest.json")

    @property
    def work(self) -> Path:
        """Where it is built; renamed into place only when complete."""
        return self.dir.parent / f".build-{self.dir.name}"

    def ready(self) -> bool:
        return all(p.exists() for p in (self.disk, self.kernel, self.initrd, self.manifest))


def lock_entries(lock_text: str) -> list[str]:
    """requirements.lock's requirements, one string each: `name==version` and its `--hash=`
    options, which pip-compile writes over continuation lines."""
    joined = lock_text.replace("\\\n", " ")
    return [" ".join(ln.split("#")[0].split()) for ln in joined.splitlines()
            if ln.split("#")[0].strip()]


def vm_requirements(lock_text: str) -> list[str]:
    """The requirements of requirements.lock that the VM needs (with their hashes), in the
    lock's order."""
    wanted = {n.lower() for n in VM_REQUIREMENTS}

    def name(entry: str) -> str:
        return entry.split("==")[0].strip().lower().replace("_", "-")

    lines = [e for e in lock_entries(lock_text) if name(e) in wanted]
    missing = wanted - {name(e) for e in lines}
    if missing:
        raise DevnetError(f"requirements.lock pins none of {', '.join(sorted(missing))}",
                          "pin them (pip freeze) so the VM's packages are reproducible")
    return lines


def inputs(lock_text: str) -> dict:
    return {"version": VERSION, "suite": SUITE, "python": PYTHON, "packages": sorted(PACKAGES),
            "requirements": [e.split()[0] for e in vm_requirements(lock_text)],
            "disk_mb": DISK_MB,
            "files": guest.FILES, "early": guest.EARLY_FILES, "enable": guest.ENABLE,
            "mask": guest.MASK,
            "prune": [guest.PRUNE_MODULES, guest.PRUNE_DIRS]}


def digest(spec: dict) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def find(cache_root: Path = CACHE_ROOT, lock: Path = LOCK) -> Image:
    """The image for the current inputs (built or not)."""
    return Image(Path(cache_root) / digest(inputs(Path(lock).read_text())))


def apt_mirror(etc_apt: Path = Path("/etc/apt")) -> str:
    """This machine's Debian mirror, from sources.list and sources.list.d (one-line and
    deb822 forms): debootstrap fetches from where apt already may."""
    files = [etc_apt / "sources.list", *sorted((etc_apt / "sources.list.d").glob("*.list")),
             *sorted((etc_apt / "sources.list.d").glob("*.sources"))]
    for path in files:
        text = path.read_text() if path.exists() else ""
        uris = re.findall(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+", text, re.M)
        for stanza in re.split(r"\n\s*\n", text):
            if re.search(r"^Types:.*\bdeb\b", stanza, re.M | re.I):
                uris += re.findall(r"^URIs:\s*(\S+)", stanza, re.M | re.I)
        for uri in uris:
            if uri.rstrip("/").endswith("/debian"):  # not debian-security, not a third party
                return uri
    return "http://deb.debian.org/debian"


def debootstrap_argv(rootfs: Path, mirror: str) -> list[str]:
    # --foreign: download and unpack now, configure in a second stage (two progress lines).
    # debootstrap puts a policy-rc.d in the chroot itself: no package starts a daemon here.
    return ["debootstrap", "--foreign", "--variant=minbase", f"--include={','.join(PACKAGES)}",
            SUITE, str(rootfs), mirror]


def wheels_argv(dest: Path, requirements: Path) -> list[str]:
    # Pure-Python wheels only: this machine's Python may differ from the image's 3.11.
    return [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
            "--no-deps", "--only-binary=:all:", "--platform", "any", "--implementation", "py",
            "--abi", "none", "--python-version", PYTHON, "-d", str(dest), "-r", str(requirements)]


def mkfs_argv(rootfs: Path, disk: Path) -> list[str]:
    return ["mkfs.ext4", "-q", "-F", "-L", "devnet-root", "-E", "root_owner=0:0",
            "-d", str(rootfs), str(disk), f"{DISK_MB}M"]


def plan(rootfs: Path, mirror: str) -> list[str]:
    """What `build` runs, for --dry-run."""
    return [cmd(*wheels_argv(rootfs.parent / "wheels", Path("requirements.txt"))),
            "nice " + cmd(*debootstrap_argv(rootfs, mirror)),
            "nice " + cmd("chroot", rootfs, "/debootstrap/debootstrap", "--second-stage"),
            chroot(rootfs, "python3", "-m", "venv", "/opt/devnet") + " && pip install -r "
            "requirements.txt (offline, from those wheels)",
            f"write {len(guest.FILES)} files, systemctl enable {' '.join(guest.ENABLE)}, mask "
            f"{len(guest.MASK)} units, prune unused kernel modules and docs",
            "copy out vmlinuz and initrd.img; nice " + cmd(*mkfs_argv(rootfs, Path("root.ext4")))]


def chroot(rootfs: Path, *argv) -> str:
    return cmd("chroot", rootfs, *CHROOT_ENV, *argv)


def build(c, cache_root: Path = CACHE_ROOT, lock: Path = LOCK, mirror: str | None = None,
          echo=print, force: bool = False) -> tuple[Image, str]:
    """Build the image unless the cache has it; (image, what happened)."""
    lock_text = Path(lock).read_text()
    image = Image(Path(cache_root) / digest(inputs(lock_text)))
    if image.ready() and not force:
        return image, f"cached: {image.dir}"
    mirror = mirror or apt_mirror()
    work = image.work
    shutil.rmtree(work, ignore_errors=True)
    rootfs, out = work / "rootfs", work / "out"
    out.mkdir(parents=True)
    start = time.monotonic()

    def step(what, line, **kw):
        t = time.monotonic()
        echo(f"vm.image: {what} ...")
        res = c.run(line, hide=True, warn=True, **kw)
        if res.failed:
            tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-15:])
            raise DevnetError(f"vm.image: {what} failed ({res.exited}):\n{tail}",
                              "fix the cause above and run `invoke vm.image` again")
        echo(f"vm.image: {what}: {time.monotonic() - t:.0f}s")

    try:
        # The wheels first: a pin PyPI lacks fails in seconds, not after debootstrap.
        wheels = work / "wheels"
        wheels.mkdir()
        (wheels / "requirements.txt").write_text("\n".join(vm_requirements(lock_text)) + "\n")
        step("download the DNS service's wheels",
             cmd(*wheels_argv(wheels, wheels / "requirements.txt")))
        step(f"debootstrap {SUITE} from {mirror} (download, unpack)",
             "nice " + cmd(*debootstrap_argv(rootfs, mirror)))
        write_files(rootfs, guest.EARLY_FILES)
        step("debootstrap second stage (configure packages, initramfs)",
             "nice " + cmd("chroot", rootfs, "/debootstrap/debootstrap", "--second-stage"))
        shutil.move(wheels, rootfs / "tmp/devnet-wheels")
        step("venv /opt/devnet", chroot(rootfs, "python3", "-m", "venv", "/opt/devnet")
             + " && " + chroot(rootfs, "/opt/devnet/bin/pip", "install", "-q", "--no-index",
                               "--no-cache-dir", "--disable-pip-version-check", "--find-links",
                               "/tmp/devnet-wheels", "-r", "/tmp/devnet-wheels/requirements.txt"))
        configure(c, rootfs, step)
        for name, dest in (("vmlinuz", image.kernel), ("initrd.img", image.initrd)):
            src = max((rootfs / "boot").glob(f"{name}-*"))
            shutil.move(src, out / dest.name)
        step(f"mkfs.ext4 -d ({DISK_MB} MB, sparse)",
             "nice " + cmd(*mkfs_argv(rootfs, out / "root.ext4")))
        manifest = {"inputs": inputs(lock_text), "mirror": mirror,
                    "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "seconds": round(time.monotonic() - start)}
        (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        shutil.rmtree(image.dir, ignore_errors=True)
        out.rename(image.dir)
    finally:
        if unmount_under(c, work):  # never remove files through a mount still in place
            shutil.rmtree(work, ignore_errors=True)
    return image, f"built {image.dir} in {time.monotonic() - start:.0f}s"


def configure(c, rootfs: Path, step) -> None:
    """devnet's files, units, no baked SSH host keys, a machine-id made at first boot, and
    the parts of Debian a VM booted by QEMU never uses left out."""
    write_files(rootfs, guest.FILES)
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (rootfs / "etc/machine-id").write_text("")
    (rootfs / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    shutil.rmtree(rootfs / "tmp/devnet-wheels", ignore_errors=True)
    kernels = sorted(d.name for d in (rootfs / "usr/lib/modules").iterdir())
    for kver in kernels:
        for rel in guest.PRUNE_MODULES:
            shutil.rmtree(rootfs / "usr/lib/modules" / kver / "kernel" / rel, ignore_errors=True)
    for rel in guest.PRUNE_DIRS:
        for child in (rootfs / rel).glob("*"):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    step("enable devnet's units, depmod, apt-get clean", " && ".join(
        [chroot(rootfs, "systemctl", "enable", *guest.ENABLE),
         chroot(rootfs, "systemctl", "mask", *guest.MASK),
         *(chroot(rootfs, "depmod", kver) for kver in kernels),  # the pruned modules' index
         chroot(rootfs, "apt-get", "clean")]))


def mounts_under(work: Path) -> list[str]:
    prefix = str(Path(work).resolve()) + "/"
    with open("/proc/mounts") as f:
        return sorted((ln.split()[1] for ln in f if ln.split()[1].startswith(prefix)),
                      key=len, reverse=True)


def write_files(rootfs: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = rootfs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)  # resolv.conf may be a symlink
        path.write_text(text)


def unmount_under(c, work: Path) -> bool:
    """Unmount what debootstrap left mounted in the chroot (/proc, /sys), deepest first;
    True when nothing is mounted there any more."""
    for mnt in mounts_under(work):
        c.run(cmd("umount", "-l", mnt), hide=True, warn=True)
    return not mounts_under(work)
