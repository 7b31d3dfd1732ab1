"""`invoke test.vagrant`: the top-level Vagrantfile booted for real, on a simulated developer
machine (devnet.libvirt_lab): `vagrant up --provider=libvirt` with a box made offline from
vm.image (devnet.vagrant_box), then `invoke up` with provider vagrant inside the lab, the
checks, and `down` + `vagrant destroy` leaving nothing (domain, network, volume, box,
process, namespace)."""

from __future__ import annotations

import os
import sys
import time

from invoke.exceptions import CommandTimedOut

from devnet import vagrant_box
from devnet.errors import DevnetError
from devnet.libvirt_lab import Lab
from devnet.paths import PROJECT_DIR
from devnet.providers.qemu import boot as qemu_boot
from devnet.providers.qemu import image as vmimage

UP_TIMEOUT = 900  # TCG boots slowly; past this, something is wrong (the lab still goes)
# devnet.start_timeout for the provisioner's steps inside a TCG guest (emulated CPUs): the
# DNS service took 13 s to start there on a quiet machine and 16 s on a busy one (with one
# CPU), close to the 30 s default. (The lab's timeouts of stop 20 were dns.control judging
# a fresh status stale, not this; fixed there.)
TCG_START_TIMEOUT = 120


def vagrant_env(lab: Lab, driver: str) -> list[str]:
    """VAGRANT_HOME (boxes) and the machine's dotfile directory inside the lab, the lab box,
    the code shared by the box (no rsync), libvirt's driver (kvm, or qemu = TCG)."""
    return [f"VAGRANT_HOME={lab.root / 'vagrant.d'}", f"VAGRANT_DOTFILE_PATH={lab.root / 'dot'}",
            f"VAGRANT_CWD={PROJECT_DIR}", "VAGRANT_DEFAULT_PROVIDER=libvirt",
            "VAGRANT_CHECKPOINT_DISABLE=1", f"DEVNET_BOX={vagrant_box.BOX_NAME}",
            f"DEVNET_LIBVIRT_DRIVER={driver}", "DEVNET_SYNC=none",
            *([f"DEVNET_START_TIMEOUT={TCG_START_TIMEOUT}"] if driver == "qemu" else [])]


def vagrant(c, lab: Lab, driver: str, *args, **kwargs):
    return lab.run(c, "env", *vagrant_env(lab, driver), "vagrant", *args, **kwargs)


def prepare(c, lab: Lab, echo=print) -> dict:
    """The lab started and the box added (no VM yet); the seconds each part took, and
    libvirt's driver."""
    took = {}
    t = time.monotonic()
    image, said = vmimage.build(c, vmimage.CACHE_ROOT, echo=echo)
    took["vm.image"] = time.monotonic() - t
    accel, why = qemu_boot.choose_accel(image.kernel, lab.root.parent / "accel.json")
    driver = "kvm" if accel == "kvm" else "qemu"
    echo(f"lab: libvirt driver {driver} ({why})")
    echo(lab.start(c))
    t = time.monotonic()
    box = vagrant_box.build(c, image, lab.root, driver, echo=echo)
    vagrant(c, lab, driver, "box", "add", "--force", "--name", vagrant_box.BOX_NAME, str(box))
    box.unlink()
    took["box"] = time.monotonic() - t
    took["driver"] = driver
    return took


def up(c, lab: Lab, echo=print) -> dict:
    """Everything up to a booted, provisioned VM; the seconds each part took."""
    took = prepare(c, lab, echo=echo)
    driver = took["driver"]
    t = time.monotonic()
    try:
        out = vagrant(c, lab, driver, "up", "--provider=libvirt", "--no-tty", warn=True,
                      timeout=UP_TIMEOUT)
    except CommandTimedOut as err:
        raise DevnetError(f"vagrant up did not finish within {UP_TIMEOUT}s",
                          f"see the domain's console: {lab.dir('/var/log/libvirt')}") from err
    took["vagrant up"] = time.monotonic() - t
    echo(f"lab: vagrant up took {took['vagrant up']:.0f}s (box {took['box']:.0f}s)")
    (lab.root.parent / "vagrant-up.log").write_text(out.stdout + out.stderr)
    if out.failed:
        raise DevnetError(f"vagrant up failed ({out.exited}): "
                          f"{(out.stderr or out.stdout).strip().splitlines()[-1:]}",
                          f"see {lab.root.parent / 'vagrant-up.log'}")
    return took


def remove_box(c, lab: Lab, driver: str = "qemu", echo=print) -> dict[str, list[str]]:
    """vagrant destroy (if a VM is still there) and the box removed, with its copy in
    libvirt's pool; what libvirt still holds then (must be nothing)."""
    echo(vagrant(c, lab, driver, "destroy", "-f", warn=True).stdout.strip())
    vagrant(c, lab, driver, "box", "remove", "--force", "--all", vagrant_box.BOX_NAME,
            warn=True)
    # vagrant-libvirt keeps the box's base volume in its pool after destroy and box
    # remove (it is shared by every machine of that box): the lab's, so it goes too.
    mangled = vagrant_box.BOX_NAME.replace("/", "-VAGRANTSLASH-")
    for vol in lab.objects(c)["volumes"]:
        pool, _, name = vol.partition("/")
        if name.startswith(mangled):
            lab.run(c, "virsh", "-c", "qemu:///system", "vol-delete", name, "--pool", pool,
                    warn=True)
    left = {k: v for k, v in lab.objects(c).items() if v}
    boxes = lab.root / "vagrant.d" / "boxes"
    copies = [b.name for b in boxes.iterdir() if any(f.is_file() for f in b.rglob("*"))
              ] if boxes.exists() else []
    if copies:
        left["box copies"] = copies
    return left


def down(c, lab: Lab, driver: str = "qemu", echo=print) -> dict:
    """vagrant destroy, the box removed, the lab stopped; what libvirt still held before the
    lab went (must be nothing)."""
    left = remove_box(c, lab, driver, echo=echo) if lab.pid() else {}
    echo(lab.stop(c))
    return left


def e2e_env(lab: Lab, driver: str) -> list[str]:
    """The e2e suite's environment inside the lab: vagrant's, and devnet's state there."""
    outside = " ".join(os.readlink(f"/proc/self/ns/{kind}") for kind in ("net", "mnt"))
    return [*vagrant_env(lab, driver), "DEVNET_E2E_PROVIDER=vagrant",
            f"DEVNET_E2E_OUTSIDE_NS={outside}",
            f"DEVNET_E2E_LAB={lab.ns.removesuffix('-lv')}:{lab.root.parent}",
            f"INVOKE_DEVNET_STATE_DIR={lab.root / 'state'}"]


def devnet_argv(lab: Lab, driver: str, instance: str, *task) -> list[str]:
    """`invoke <task>` with provider vagrant, run inside the lab (the lab is the developer's
    machine: its routes, resolver and firewall are the lab namespace's)."""
    return ["env", *vagrant_env(lab, driver), "INVOKE_DEVNET_PROVIDER=vagrant",
            f"INVOKE_DEVNET_INSTANCE={instance}", f"INVOKE_DEVNET_STATE_DIR={lab.root / 'state'}",
            # nsenter -m starts in the namespace's / : invoke finds tasks.py from the checkout
            "INVOKE_DEVNET_WATCH=0", sys.executable, "-m", "invoke", "--search-root",
            str(PROJECT_DIR), *task]


def run_all(c, instance: str, lab: Lab, echo=print) -> dict:
    """up (vagrant up, then invoke up inside the lab), doctor, down; the timings, and what
    was left (must be nothing). The lab goes whatever happens."""
    took, driver = {}, "qemu"
    try:
        took = up(c, lab, echo=echo)
        driver = took["driver"]
        for name, task in (("invoke up", ("up",)), ("invoke doctor", ("doctor",)),
                           ("invoke down", ("down",))):
            t = time.monotonic()
            try:
                out = lab.run(c, *devnet_argv(lab, driver, instance, *task), warn=True,
                              timeout=UP_TIMEOUT)
            except CommandTimedOut as err:
                raise DevnetError(f"{name} in the lab did not finish within {UP_TIMEOUT}s"
                                  ) from err
            took[name] = time.monotonic() - t
            echo(out.stdout.rstrip())
            echo(f"lab: {name} took {took[name]:.0f}s")
            if out.failed:
                raise DevnetError(f"{name} in the lab failed ({out.exited}): "
                                  f"{out.stderr.strip()[-400:]}")
    finally:
        took["left"] = down(c, lab, driver, echo=echo)
    return took
