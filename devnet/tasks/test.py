"""test.*: unit tests, end-to-end tests on the simulated VM, lint, and the test image."""

from __future__ import annotations

import os
import sys

from invoke import Collection, task
from invoke.exceptions import Exit

from devnet import image
from devnet.caller import as_caller
from devnet.errors import DevnetError
from devnet.system import require_binaries
from devnet.tasks.common import devnet_task

PYTEST = f"{sys.executable} -m pytest"
E2E_PROVIDERS = ("sim", "sim-desktop", "qemu")


@task(help={"args": "extra pytest arguments"})
def unit(c, args=""):
    """Unit tests: no root, no network, no Docker (run as the user behind sudo)."""
    c.run(as_caller(f"{PYTEST} tests/unit {args}"), pty=False)


@task(help={"args": "extra pytest arguments",
            "provider": "sim (default); sim-desktop: the same files through the WireGuard "
                        "tunnel (no host-only link, no SSH); or qemu: against a real VM, its "
                        "image built first (tests that need the sim's insides, or a host-only "
                        "route on sim-desktop, are deselected, each with why)"})
def e2e(c, args="", provider="sim"):
    """End-to-end tests: real dockerd, sshd, routes, TCP, DNS clients (needs root)."""
    if provider not in E2E_PROVIDERS:
        raise Exit(f"devnet: test.e2e runs on {', '.join(E2E_PROVIDERS)}, not {provider!r}")
    if provider == "qemu":
        why = vm_suite_impossible()
        if why:
            print(f"VM SUITE SKIPPED (provider qemu): {why}", flush=True)
            return
        c.run(f"{sys.executable} -m invoke vm.image", pty=False)
    print(f"e2e on provider {provider}", flush=True)
    c.run(f"{PYTEST} tests/e2e {args}", pty=False, env={"DEVNET_E2E_PROVIDER": provider})


def vm_suite_impossible() -> str | None:
    """Why the QEMU VM cannot run on this machine at all (said, never silently skipped)."""
    if os.geteuid() != 0:
        return "needs root (namespaces, taps, QEMU)"
    try:
        require_binaries("qemu-system-x86_64", "qemu-img", "debootstrap", "mkfs.ext4")
    except DevnetError as err:
        return f"{err.what}; {err.hint}"
    return None


@task
def lint(c):
    """ruff over the project (as the user behind sudo)."""
    c.run(as_caller(f"{sys.executable} -m ruff check devnet tests tasks.py bench"), pty=False)


@task(pre=[lint], default=True, help={"args": "extra pytest arguments"})
def all(c, args=""):  # noqa: A001 - `invoke test.all` reads best
    """Everything: lint, unit and fuzz tests (as the user behind sudo), end-to-end tests on the
    sim, again on sim-desktop (reach through the tunnel), then on a real QEMU VM (those need
    root)."""
    c.run(as_caller(f"{PYTEST} tests/unit tests/fuzz {args}"), pty=False)
    c.run(f"{PYTEST} tests/e2e {args}", pty=False)
    e2e(c, args, provider="sim-desktop")
    e2e(c, args, provider="qemu")


@devnet_task
def image_(c, dn):
    """Import the offline busybox test image into the VM's dockerd (tags devnet/busybox, ubuntu)."""
    client = dn.provider.docker_client()
    try:
        print(image.ensure(client))
    finally:
        client.close()


ns = Collection("test", unit, e2e, lint, all)
ns.add_task(image_, name="image")
