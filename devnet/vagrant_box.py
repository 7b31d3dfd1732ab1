"""A Vagrant box for vagrant-libvirt, made offline from the qemu provider's image (vm.image).

A libvirt box is a tar of metadata.json (`provider: libvirt`, `format: qcow2`,
`virtual_size` in GB), box.img (the disk, qcow2) and a Vagrantfile with the box's defaults
(vagrant-libvirt's README, "Create Box"; `vagrant box add` takes a local .box file). devnet's
image boots its kernel directly (no boot loader), so the box's Vagrantfile sets
vagrant-libvirt's kernel, initrd and cmd_line; the image's two 9p shares (this checkout at
/devnet, the SSH keys) and a third with the wheels of requirements.lock (so provisioning
installs devnet's pinned packages with no network) are passed to QEMU as -virtfs. The box
logs in as root with a key of its own, made here.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

from devnet.paths import PROJECT_DIR
from devnet.providers.qemu import guest
from devnet.providers.qemu.image import Image
from devnet.system import cmd

BOX_NAME = "devnet/lab"
WHEELS_TAG = "devnet-wheels"  # the Vagrantfile's provisioner mounts it when it is there


def metadata(disk_bytes: int) -> dict:
    return {"provider": "libvirt", "format": "qcow2",
            "virtual_size": max(1, math.ceil(disk_bytes / 1024**3))}


# PCI slots for the 9p devices, far above the ones libvirt hands out from slot 1 upwards (a
# plain -virtfs takes the next free slot before libvirt's devices are placed: "slot 3
# function 0 not available for virtio-blk-pci, in use by virtio-9p-pci").
SLOTS = (0x1A, 0x1B, 0x1C)


def ninep_args(path: str, tag: str, slot: int) -> list[str]:
    """QEMU arguments for one read-only 9p share at a fixed PCI slot."""
    fsdev = f"fs{tag.replace('-', '')}"
    return ["-fsdev", f"local,id={fsdev},path={path},security_model=none,readonly=on",
            "-device", f"virtio-9p-pci,fsdev={fsdev},mount_tag={tag},bus=pci.0,addr={slot:#x}"]


def box_vagrantfile(code_dir: Path, driver: str) -> str:
    """The box's own Vagrantfile: paths relative to the box's directory (where vagrant box
    add unpacks it), the checkout's path as it was when the box was made."""
    shares = [("#{box}/seed", guest.SEED_TAG), (str(code_dir), guest.CODE_TAG),
              ("#{box}/wheels", WHEELS_TAG)]
    qemuargs = "".join(f'    lv.qemuargs value: "{arg}"\n'
                       for (path, tag), slot in zip(shares, SLOTS, strict=True)
                       for arg in ninep_args(path, tag, slot))
    return (
        "# devnet's lab box: the qemu provider's image, booted by vagrant-libvirt.\n"
        "box = File.expand_path(File.dirname(__FILE__))\n"
        'Vagrant.configure("2") do |config|\n'
        '  config.ssh.username = "root"\n'
        '  config.ssh.private_key_path = File.join(box, "devnet_box_key")\n'
        "  config.ssh.insert_key = false\n"
        "  # root already, and the image has no sudo: Vagrant's privileged commands run as is\n"
        '  config.ssh.sudo_command = "%c"\n'
        "  config.vm.provider :libvirt do |lv|\n"
        f'    lv.driver = "{driver}"\n'
        '    lv.kernel = File.join(box, "vmlinuz")\n'
        '    lv.initrd = File.join(box, "initrd.img")\n'
        f'    lv.cmd_line = "{guest.KERNEL_CMDLINE}"\n'
        '    lv.disk_bus = "virtio"\n'
        f"{qemuargs}"
        "  end\n"
        "end\n")


def wheels_argv(dest: Path, lock: Path) -> list[str]:
    """Every wheel requirements.lock pins, for this machine's Python and platform (the
    image's Debian 12 Python 3.11 on the same architecture), hashes checked."""
    return [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
            "--only-binary=:all:", "--require-hashes", "-d", str(dest), "-r", str(lock)]


def build(c, image: Image, out: Path, driver: str, lock: Path = PROJECT_DIR / "requirements.lock",
          code_dir: Path = PROJECT_DIR, echo=print) -> Path:
    """The .box file for `image` (rebuilt each time: a box is the lab's, not cached)."""
    work = out / "box"
    c.run(cmd("rm", "-rf", work), hide=True)
    (work / "seed").mkdir(parents=True)
    key = work / "devnet_box_key"
    c.run(cmd("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "devnet-lab-box", "-f", key),
          hide=True)
    host_key = work / "seed" / "ssh_host_ed25519_key"
    c.run(cmd("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "root@devnet-vm", "-f",
              host_key), hide=True)
    (work / "seed" / "authorized_keys").write_text(Path(f"{key}.pub").read_text())
    os.chmod(host_key, 0o600)
    echo(f"box: wheels of {lock.name}")
    c.run(cmd(*wheels_argv(work / "wheels", lock)), hide=True)
    echo(f"box: {image.disk} -> box.img (qcow2)")
    c.run(cmd("qemu-img", "convert", "-f", "raw", "-O", "qcow2", image.disk, work / "box.img"),
          hide=True)
    for name, src in (("vmlinuz", image.kernel), ("initrd.img", image.initrd)):
        c.run(cmd("cp", src, work / name), hide=True)
    (work / "metadata.json").write_text(json.dumps(metadata(image.disk.stat().st_size)) + "\n")
    (work / "Vagrantfile").write_text(box_vagrantfile(code_dir, driver))
    box = out / "devnet-lab.box"
    c.run(cmd("tar", "-cf", box, "-C", work, "."), hide=True)
    c.run(cmd("rm", "-rf", work), hide=True)
    return box
