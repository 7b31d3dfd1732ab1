"""sim.*: the simulated developer machine, for trying things as on a real host."""

from __future__ import annotations

import os
import shlex
import sys

from invoke import Collection
from invoke.exceptions import Exit

from devnet.tasks.common import devnet_task


@devnet_task(help={"command": "run this instead of an interactive shell"})
def shell(c, dn, command=""):
    """A shell on the simulated developer machine (its network namespace): try nc, ping, dig."""
    if not dn.provider.simulated_host:
        raise Exit("devnet: sim.shell is for provider sim; your own shell is the host")
    ns_name = dn.provider.host_ns
    if not dn.provider.host_exists():
        raise Exit(f"devnet: namespace {ns_name} does not exist\n  next: invoke up")
    argv = ["ip", "netns", "exec", ns_name]
    argv += ["sh", "-c", command] if command else [os.environ.get("SHELL", "/bin/bash")]
    if command:
        result = c.run(shlex.join(argv), warn=True, pty=sys.stdin.isatty())
        sys.exit(result.exited)
    print(f"# on the simulated developer machine ({ns_name}); exit to leave")
    os.execvp(argv[0], argv)


ns = Collection("sim", shell)
