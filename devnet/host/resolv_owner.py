"""Who owns /etc/resolv.conf: a plain file devnet may edit, or a symlink into a file that a
resolver manager generates, which devnet must never write through (the manager would
overwrite the change, or devnet's edit would land in the manager's own state).

- systemd-resolved: stub-resolv.conf (nameserver 127.0.0.53) -> its per-link DNS
  (`resolvectl dns/domain <link>`); its resolv.conf (upstream servers listed directly, libc
  asks them itself) -> refused: per-link servers would not come first there.
- resolvconf (Debian's or openresolv): /run/resolvconf/resolv.conf -> `resolvconf -a
  <link>.devnet` (its own interface: a record it merges and takes away with `-d`).
- NetworkManager: /run/NetworkManager/*resolv.conf -> refused: its DNS lives in connection
  profiles (the user's) or a global config that replaces every connection's DNS.
- anything else a symlink points at -> refused, naming the target.
"""

from __future__ import annotations

from devnet.errors import DevnetError
from devnet.system import cmd

MANAGERS = (
    ("/run/systemd/resolve/stub-resolv.conf", "resolved"),
    ("/run/systemd/resolve/", "resolved-direct"),
    ("/run/resolvconf/", "resolvconf"),
    ("/etc/resolvconf/run/", "resolvconf"),  # Debian's resolvconf before /run existed
    ("/run/NetworkManager/", "NetworkManager"),
    ("/var/run/NetworkManager/", "NetworkManager"),
)


def link_target(c, path: str) -> str | None:
    """Where `path` finally points when it is a symlink; None for a plain (or no) file."""
    out = c.run(cmd("sh", "-c", 'test -L "$0" && readlink -f "$0"', path), hide=True, warn=True)
    return (out.stdout.strip() or None) if out.ok else None


def manager(target: str) -> str:
    """The program whose generated file `target` is (MANAGERS), else "unknown"."""
    return next((who for prefix, who in MANAGERS if target.startswith(prefix)), "unknown")


def refusal(path: str, target: str, who: str) -> DevnetError:
    """Why devnet leaves a symlinked resolv.conf alone, and what to do instead."""
    why = {
        "resolved": ("it is systemd-resolved's stub, but `resolvectl status` does not answer",
                     "systemctl start systemd-resolved, then invoke dns.resolver"),
        "resolved-direct": ("systemd-resolved lists the upstream servers there and libc asks "
                            "them directly, so a per-link server would not come first",
                            f"ln -sf ../run/systemd/resolve/stub-resolv.conf {path}   (resolved's"
                            " stub; devnet then adds per-link DNS), or set devnet.dns.resolver"),
        "NetworkManager": ("NetworkManager generates it; its DNS lives in your connection "
                           "profiles, which devnet does not edit",
                           "set dns=systemd-resolved in NetworkManager.conf (devnet then adds "
                           "per-link DNS), or `nmcli connection modify <conn> +ipv4.dns "
                           "<devnet's DNS> ipv4.dns-priority -1` yourself"),
    }.get(who, ("devnet does not know the program that generates it",
                f"make {path} a plain file, or point that program at devnet's DNS"))
    return DevnetError(f"{path} is a symlink to {target}: devnet does not write through it "
                       f"({why[0]})", why[1])
