"""The developer's machine: routes, resolver and firewall, one module per OS."""

from __future__ import annotations


def routes_module(c):
    """devnet.host.linux or devnet.host.macos, for the machine Context `c` runs on."""
    from devnet.host import linux, macos

    out = c.run("uname -s", hide=True, warn=True)
    return macos if out.ok and out.stdout.strip() == "Darwin" else linux
