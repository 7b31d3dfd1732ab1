"""test.*: unit tests, end-to-end tests on the simulated VM, lint, and the test image."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from invoke import Collection, task
from invoke.exceptions import Exit

from devnet import config, image, vagrant_lab
from devnet.caller import as_caller
from devnet.errors import DevnetError
from devnet.libvirt_lab import Lab
from devnet.paths import PROJECT_DIR
from devnet.system import require_binaries
from devnet.tasks.common import devnet_task

PYTEST = f"{sys.executable} -m pytest"
E2E_PROVIDERS = ("sim", "sim-desktop", "qemu", "vagrant")
# Debian's vagrant-libvirt is a system gem (vagrant-libvirt-<version>) under this directory
VAGRANT_LIBVIRT_DIRS = ("/usr/share/rubygems-integration/all/gems",)
LAB_INSTANCE = "e2e"  # the Vagrant suite's libvirt lab (namespace e2e-lv)


@task(help={"args": "extra pytest arguments"})
def unit(c, args=""):
    """Unit tests: no root, no network, no Docker (run as the user behind sudo)."""
    c.run(as_caller(f"{PYTEST} tests/unit {args}"), pty=False)


@task(help={"args": "extra pytest arguments",
            "provider": "sim (default); sim-desktop: the same files through the WireGuard "
                        "tunnel (no host-only link, no SSH); qemu or vagrant: against a real VM, "
                        "its image built first (vagrant: `vagrant up` of the Vagrantfile in a "
                        "libvirt lab; tests that need the sim's insides, a host-only route on "
                        "sim-desktop, or that qemu's pass already proves, are deselected, each "
                        "with why)"})
def e2e(c, args="", provider="sim"):
    """End-to-end tests: real dockerd, sshd, routes, TCP, DNS clients (needs root)."""
    if provider not in E2E_PROVIDERS:
        raise Exit(f"devnet: test.e2e runs on {', '.join(E2E_PROVIDERS)}, not {provider!r}")
    if provider in ("qemu", "vagrant"):
        why = vm_suite_impossible(provider)
        if why:
            print(f"VM SUITE SKIPPED (provider {provider}): {why}", flush=True)
            return
        c.run(f"{sys.executable} -m invoke vm.image", pty=False)
    print(f"e2e on provider {provider}", flush=True)
    if provider == "vagrant":
        vagrant_suite(c, args)
        return
    c.run(f"{PYTEST} tests/e2e {args}", pty=False, env={"DEVNET_E2E_PROVIDER": provider})


def vagrant_suite(c, args: str) -> None:
    """The e2e files inside a libvirt lab (the simulated developer machine: libvirtd in its
    own namespaces, the box added); pytest runs there as on a developer's machine, `invoke
    up` does the `vagrant up`, and the session's end asserts nothing is left. The lab goes
    whatever happens."""
    lab = Lab(LAB_INSTANCE, config.load({"instance": LAB_INSTANCE}).state_dir)
    driver = "qemu"
    try:
        took = vagrant_lab.prepare(c, lab, echo=lambda line: print(line, flush=True))
        driver = took["driver"]
        c.run(lab.line("env", *vagrant_lab.e2e_env(lab, driver), "sh", "-c",
                       f"cd {PROJECT_DIR} && exec {PYTEST} tests/e2e {args}"),
              pty=False, hide=False)
    finally:
        left = vagrant_lab.down(c, lab, driver, echo=lambda line: print(line, flush=True))
    if left:
        raise Exit(f"devnet: left in the e2e lab's libvirt: {left}")


def vm_suite_impossible(provider: str = "qemu") -> str | None:
    """Why the VM cannot run on this machine at all (said, never silently skipped)."""
    if os.geteuid() != 0:
        return "needs root (namespaces, taps, QEMU)"
    need = ["qemu-system-x86_64", "qemu-img", "debootstrap", "mkfs.ext4"]
    if provider == "vagrant":
        need += ["vagrant", "libvirtd", "virsh", "nsenter", "unshare"]
    try:
        require_binaries(*need)
    except DevnetError as err:
        return f"{err.what}; {err.hint}"
    if provider == "vagrant" and not any(
            any(Path(d).glob("vagrant-libvirt*")) for d in VAGRANT_LIBVIRT_DIRS):
        return "vagrant-libvirt is not installed (apt-get install vagrant-libvirt)"
    return None


@task
def lint(c):
    """ruff over the project (as the user behind sudo)."""
    c.run(as_caller(f"{sys.executable} -m ruff check devnet tests tasks.py bench"), pty=False)


@task(pre=[lint], default=True, help={"args": "extra pytest arguments"})
def all(c, args=""):  # noqa: A001 - `invoke test.all` reads best
    """Everything: lint, unit, fuzz, then end-to-end tests on each VM (the CI's run).

    Lint, unit and fuzz run as the user behind sudo; end to end (root) on the sim, on
    sim-desktop (reach through the tunnel), on a real QEMU VM, then the files that prove what
    only a Vagrant VM can, on `vagrant up` of the Vagrantfile."""
    c.run(as_caller(f"{PYTEST} tests/unit tests/fuzz {args}"), pty=False)
    c.run(f"{PYTEST} tests/e2e {args}", pty=False)
    e2e(c, args, provider="sim-desktop")
    e2e(c, args, provider="qemu")
    e2e(c, args, provider="vagrant")


@devnet_task
def image_(c, dn):
    """Import the offline busybox test image into the VM's dockerd (tags devnet/busybox, ubuntu)."""
    client = dn.provider.docker_client()
    try:
        print(image.ensure(client))
    finally:
        client.close()


@devnet_task(name="vagrant", help={"instance": "the lab's instance name (default vl)"})
def vagrant_(c, instance="vl"):
    """Boot the top-level Vagrantfile for real, on vagrant-libvirt in a simulated machine.

    The machine has its own network and mount namespaces and libvirtd; a box made offline
    from vm.image, `invoke up`/`doctor`/`down` with provider vagrant there, then vagrant
    destroy; prints each part's time and fails if anything is left (needs root; CI runs the
    e2e files on the same lab instead: test.e2e --provider=vagrant)."""
    settings = config.load({"instance": instance})
    lab = Lab(instance, settings.state_dir)
    took = vagrant_lab.run_all(c, instance, lab, echo=lambda line: print(line, flush=True))
    left = took.pop("left")
    print("timings: " + ", ".join(f"{k} {v:.0f}s" if isinstance(v, float) else f"{k} {v}"
                                  for k, v in took.items()))
    if left:
        raise Exit(f"devnet: left in the lab's libvirt: {left}")


ns = Collection("test", unit, e2e, lint, all, vagrant_)
ns.add_task(image_, name="image")
