"""The top-level tasks: up, down, status, env."""

from __future__ import annotations

import json as json_module  # `doctor --json` is a flag named json
import os
import sys
import time

from invoke.exceptions import Exit

from devnet import providers, workflow
from devnet.doctor import Doctor, as_json, table
from devnet.tasks.common import devnet, devnet_task, settings_of


@devnet_task(help={"dry-run": "print the plan: what each step would do, change nothing"})
def up(c, dn, dry_run=False):
    """Bring everything up: VM, reach, dockerd, DNS service, resolver. Safe to run again.

    Reach is the host-only network and its route, or the tunnel (Desktop VMs), or nothing
    where the engine routes by itself; `--dry-run` prints each step's plan."""
    start = time.monotonic()
    print(f"devnet up: provider {dn.provider.name}, instance {dn.settings.instance}"
          + (" (dry run)" if dry_run else ""))
    if dn.provider.settings.chosen_because:
        print(f"  why {dn.provider.name}: {dn.provider.settings.chosen_because}")
    outcomes = workflow.up(dn, dry_run=dry_run)
    changed = sum(o.status == "done" for o in outcomes)
    verdict = "plan only" if dry_run else (f"{changed} step(s) changed" if changed
                                           else "nothing to do, all steps already done")
    print(f"devnet up: {verdict} in {time.monotonic() - start:.2f}s")
    if not dry_run:
        print(usage(dn))


def usage(dn) -> str:
    domain = dn.settings.dns.domain
    env = dn.settings.dns.environment
    lines = ["", "Use it:", "  eval \"$(invoke env)\"        # DOCKER_HOST for this shell",
             "  invoke test.image           # no registry? an offline image, tagged ubuntu",
             "  docker run -d --name u1 ubuntu nc -ll -p 7777 -e /bin/echo-server"]
    if dn.provider.simulated_host:
        lines += ["  invoke sim.shell            # a shell on the simulated developer machine,",
                  f"  # there: dig +short u1.ubuntu.{env}.{domain}; "
                  f"echo hi | nc -N u1.{domain} 7777"]
    lines += ["  invoke doctor | invoke status | invoke down"]
    return "\n".join(lines)


@devnet_task(help={"dry-run": "print what would be undone, change nothing"})
def down(c, dn, dry_run=False):
    """Undo everything devnet changed, newest first, from its journal on disk."""
    start = time.monotonic()
    workflow.down(dn, dry_run=dry_run)
    print(f"devnet down: {'plan only' if dry_run else 'done'} in {time.monotonic() - start:.2f}s")


@devnet_task
def status(c, dn):
    """Show each piece (VM, sshd, dockerd, host-only address, route) and whether it is up."""
    pieces = workflow.status(dn)
    width = max(len(p.name) for p in pieces)
    for p in pieces:
        print(f"{'up' if p.ok else 'DOWN':<5} {p.name:<{width}}  {p.detail}")
    if not all(p.ok for p in pieces):
        raise Exit("devnet: some pieces are down; `invoke up` brings them up", code=3)


@devnet_task(help={"vagrant": "print the settings the Vagrantfile uses, as JSON (no VM needed)"})
def env(c, vagrant=False):
    """Print the shell exports for this setup (like `boot2docker shellinit`)."""
    if vagrant:
        vagrantfile = providers.provider_class("vagrant").vagrantfile_settings(settings_of(c))
        print(json_module.dumps(vagrantfile, indent=2))
        return
    with devnet(c) as dn:
        lines = [f"export {key}={value}" for key, value in dn.provider.env().items()]
        lines.append(f"# ssh into the VM: {dn.provider.ssh_command()}")
    try:
        print("\n".join(lines), flush=True)
    except BrokenPipeError:  # `invoke env | head -1`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@devnet_task(help={"json": "print the hops as JSON, for scripts"})
def doctor(c, dn, json=False):
    """Check every hop in order; stop at the first that fails and name the fix.

    The hops: VM, host-only IP or the tunnel's helper, endpoint, handshake and VM end, route,
    TCP, DNS, record, resolver, firewall, overlap; the command that fixes a failed one."""
    doctor = Doctor(dn)
    hops = doctor.run()
    print(json_module.dumps(as_json(hops), indent=2) if json else table(hops))
    bad = doctor.at_fault(hops)
    if bad:
        raise Exit(f"devnet: {bad.name}: {bad.detail}\n  next: {bad.fix}", code=4)
