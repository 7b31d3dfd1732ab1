"""sudo only for the commands that need it.

A developer runs devnet as themselves: reading routes, files and `scutil --dns` needs no
privilege, while changing routes, the resolver or the firewall does (and so does reading
the firewall: iptables, nft, ipfw and pfctl answer only root). Root Contexts (the sim's host
namespace, CI) run every command plainly.
"""

from __future__ import annotations


def is_root(c) -> bool:
    """Whether `c` runs commands as root: `id -u` asked once per Context, then remembered."""
    known = getattr(c, "_devnet_is_root", None)
    if known is None:
        out = c.run("id -u", hide=True, warn=True)
        known = out.ok and out.stdout.strip() == "0"
        try:
            c._set(_devnet_is_root=known)  # Invoke Contexts proxy plain attributes to config
        except AttributeError:
            c._devnet_is_root = known
    return known


def as_root(c, line: str) -> str:
    """`line` prefixed with sudo when `c` is not root."""
    return line if is_root(c) else f"sudo {line}"


def run_as_root(c, line: str, **kwargs):
    """Run the (already quoted) command `line` as root. Through sudo, Invoke must not read
    stdin: sudo asks for the password on the terminal itself."""
    if is_root(c):
        return c.run(line, **kwargs)
    return c.run(f"sudo {line}", in_stream=False, **kwargs)


def as_root_unattended(user: str | None, line: str) -> str:
    """`line` as root for a login known by name, with no terminal to ask a password on (a
    VM's CLI login such as vagrant or docker, dockerd's service command): `sudo -n`, which
    fails instead of prompting, for anyone but root."""
    return line if user == "root" else "sudo -n " + line
