"""resolv.conf(5), read: used on the host (the resolver step) and in the VM (the DNS service's
upstream), so it imports nothing of devnet's."""

from __future__ import annotations


def nameservers(text: str) -> list[str]:
    """The `nameserver` lines of a resolv.conf, in order."""
    return [p[1] for p in (ln.split() for ln in text.splitlines())
            if p[:1] == ["nameserver"] and len(p) > 1]
