"""test.*: unit tests, end-to-end tests on the simulated VM, lint, and the test image."""

from __future__ import annotations

import sys

from invoke import Collection, task

from devnet import image
from devnet.tasks.common import devnet, reports_errors

PYTEST = f"{sys.executable} -m pytest"


@task(help={"args": "extra pytest arguments"})
def unit(c, args=""):
    """Unit tests: no root, no network, no Docker."""
    c.run(f"{PYTEST} tests/unit {args}", pty=False)


@task(help={"args": "extra pytest arguments"})
def e2e(c, args=""):
    """End-to-end tests on the simulated VM: real dockerd, sshd, routes, TCP (needs root)."""
    c.run(f"{PYTEST} tests/e2e {args}", pty=False)


@task
def lint(c):
    """ruff over the project."""
    c.run(f"{sys.executable} -m ruff check devnet tests tasks.py bench", pty=False)


@task(pre=[lint], default=True, help={"args": "extra pytest arguments"})
def all(c, args=""):  # noqa: A001 - `invoke test.all` reads best
    """Everything: lint, then unit and end-to-end tests in one pytest run (e2e needs root)."""
    c.run(f"{PYTEST} tests/unit tests/fuzz tests/e2e {args}", pty=False)


@task
@reports_errors
def image_(c):
    """Import the offline busybox test image into the VM's dockerd (tags devnet/busybox, ubuntu)."""
    dn = devnet(c)
    print(image.ensure(dn.provider.docker_client()))


ns = Collection("test", unit, e2e, lint, all)
ns.add_task(image_, name="image")
