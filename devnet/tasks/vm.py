"""vm.*: create, boot and configure the Docker VM (the walk-through's boot2docker steps)."""

from __future__ import annotations

import sys

from invoke import Collection, task

from devnet import vm as steps
from devnet.tasks.common import devnet, reports_errors, run_steps

DRY = {"dry-run": "print the plan, change nothing"}


@task(help=DRY)
@reports_errors
def init(c, dry_run=False):
    """Create the VM with its host-only adapter (boot2docker init --dhcp=false --hostip=...)."""
    run_steps(c, [steps.VmInit], dry_run)


@task(help=DRY)
@reports_errors
def up(c, dry_run=False):
    """Boot the VM and wait until SSH and the Docker API answer (boot2docker up)."""
    run_steps(c, [steps.VmUp], dry_run)


@task(help=DRY)
@reports_errors
def hostonly(c, dry_run=False):
    """Give the VM's host-only interface its address, over SSH (ifconfig eth1 172.16.0.11)."""
    run_steps(c, [steps.VmHostOnly], dry_run)


@task(help=DRY)
@reports_errors
def forward(c, dry_run=False):
    """Let the host-only network reach containers (iptables DOCKER-USER accept rule)."""
    run_steps(c, [steps.VmForward], dry_run)


@task(help=DRY)
@reports_errors
def halt(c, dry_run=False):
    """Power the VM off (boot2docker down); `invoke up` boots it and redoes what it lost."""
    dn = devnet(c)
    if not dn.provider.exists():
        print("skip   vm.halt        already done: there is no VM")
    elif dry_run:
        print("plan   vm.halt        stop dockerd, sshd and the VM")
    else:
        print(f"done   vm.halt        {dn.provider.stop()}")


@task(help={"command": "the command to run in the VM; without it, an interactive shell"})
@reports_errors
def ssh(c, command=""):
    """Run a command in the VM over SSH, or open a shell there (boot2docker ssh)."""
    dn = devnet(c)
    conn = dn.vm()
    try:
        if command:
            result = conn.run(command, warn=True, pty=sys.stdin.isatty())
            sys.exit(result.exited)
        conn.shell()
    finally:
        dn.close()


ns = Collection("vm", init, up, hostonly, forward, halt, ssh)
