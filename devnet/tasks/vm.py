"""vm.*: create, boot and configure the Docker VM (the walk-through's boot2docker steps)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from invoke import Collection

from devnet import workflow
from devnet.host import resolver_health
from devnet.providers.qemu import image as vmimage
from devnet.steps import vm as steps
from devnet.tasks.common import devnet_task, step_task

init = step_task(steps.VmInit)
up = step_task(steps.VmUp)
hostonly = step_task(steps.VmHostOnly)
forward = step_task(steps.VmForward)


@devnet_task(help={"dry-run": "print the plan, change nothing"})
def halt(c, dn, dry_run=False):
    """Power the VM off (boot2docker down); `invoke up` boots it and redoes what it lost."""
    if not dn.provider.exists():
        print("skip   vm.halt        already done: there is no VM")
    elif dry_run:
        print("plan   vm.halt        stop dockerd, sshd and the VM")
    else:
        out = resolver_health.take_out(dn, "the VM is halting")
        if out:
            print(f"done   dns.resolver   {out}")
        dn.vm_going_away()
        said = dn.provider.stop()
        stopped = said == "already stopped"
        print("skip   vm.halt        already done: the VM is stopped" if stopped
              else f"done   vm.halt        {said}")


@devnet_task(help={"dry-run": "print the plan, change nothing"})
def provision(c, dn, dry_run=False):
    """Run only the in-VM steps (DOCKER-USER, daemon.json, DNS service).

    The Vagrantfile runs it inside the VM with INVOKE_DEVNET_PROVIDER=guest: the same code as
    `invoke up`."""
    workflow.provision(dn, dry_run=dry_run)


@devnet_task(help={"command": "the command to run in the VM; without it, an interactive shell"})
def ssh(c, dn, command=""):
    """Run a command in the VM over SSH, or open a shell there (boot2docker ssh)."""
    conn = dn.vm()
    if command:
        result = conn.run(command, warn=True, pty=sys.stdin.isatty())
        sys.exit(result.exited)
    conn.shell()


@devnet_task(help={
    "dry-run": "print the image's cache key, directory and build commands; build nothing",
    "force": "build again even when cached (VMs made on the old one: invoke down first)",
    "cache": f"cache directory (default {vmimage.CACHE_ROOT})"})
def image(c, dry_run=False, force=False, cache=""):
    """Build the qemu provider's VM image, or reuse the cached one while its inputs hold.

    Debian, sshd, Docker and the DNS service's Python, with debootstrap (cold: ~2 minutes)."""
    root = Path(cache) if cache else vmimage.CACHE_ROOT
    img = vmimage.find(root)
    if dry_run:
        todo = force or not img.ready()
        print(f"plan   vm.image       {'build' if todo else 'cached'}: {img.dir}")
        for line in vmimage.plan(img.work / "rootfs", vmimage.apt_mirror()) if todo else []:
            print(f"         {line}")
        return
    start = time.monotonic()
    img, said = vmimage.build(c, root, echo=lambda line: print(line, flush=True), force=force)
    word = "skip   vm.image       already done:" if said.startswith("cached") else \
        "done   vm.image      "
    print(f"{word} {said}  ({time.monotonic() - start:.2f}s)")


ns = Collection("vm", init, up, hostonly, forward, provision, halt, ssh, image)
