"""How the host's lookups reach devnet's DNS (the dns.resolver step: devnet.steps.resolver),
and the one reader and writer of the host's resolver files.

- macOS: /etc/resolver/<domain> (split DNS), then flush the resolver caches; `scutil --dns`
  proves it.
- systemd-resolved (where /etc/resolv.conf is its stub): per-link DNS with `~<domain>` on the
  host-only link, so only the domain goes to devnet (split DNS); `resolvectl revert` undoes it.
- otherwise the walk-through's way: devnet's DNS first in /etc/resolv.conf, the old servers
  kept after it as backup (devnet forwards other names upstream anyway). The sim's host
  namespace reads /etc/netns/<ns>/resolv.conf as its /etc/resolv.conf, so this same code,
  run through its Context, edits that file (the provider's `resolv_conf`).
- a resolv.conf that is a symlink into a manager's generated file is never written through
  (devnet.host.resolv_owner): resolvconf's gets a `resolvconf -a <link>.devnet` record,
  systemd-resolved's stub per-link DNS, any other is refused with the reason.

Files are replaced atomically, mode and owner kept (devnet.files); a file or directory that
was not there before `up` is removed again, not left empty.

The method (when `auto`), the cache flush and reading the resolvers back come from the host's
OS adapter (`dn.os`); changes go through sudo when devnet does not run as root.
"""

from __future__ import annotations

from devnet.errors import DevnetError
from devnet.files import REFUSED, write_atomic_argv
from devnet.host.sudo import run_as_root
from devnet.resolv_conf import nameservers
from devnet.system import cmd

MARK = "# devnet: containers' names (.{domain}) via {ip}; `invoke down` removes this\n"


def with_devnet_first(text: str, ip: str, domain: str) -> str:
    keep = [ln for ln in text.splitlines(keepends=True)
            if ln.split()[:2] != ["nameserver", ip] and not ln.startswith("# devnet:")]
    return MARK.format(domain=domain, ip=ip) + f"nameserver {ip}\n" + "".join(keep)


def without_devnet(text: str, ip: str) -> str:
    return "".join(ln for ln in text.splitlines(keepends=True)
                   if ln.split()[:2] != ["nameserver", ip] and not ln.startswith("# devnet:"))


def first_nameserver(text: str) -> str | None:
    return next(iter(nameservers(text)), None)


def read_file(c, path: str) -> str | None:
    """A file's text on the machine Context `c` runs on; None when it is not there."""
    out = c.run(cmd("cat", path), hide=True, warn=True)
    return out.stdout if out.ok else None


def write_file(c, path: str, text: str | None) -> None:
    """Replace `path` atomically (None: remove it), as root: the one writer of resolver files
    (dns.resolver's and resolver_health's), so a symlink is refused with the reason."""
    if text is None:
        run_as_root(c, cmd("rm", "-f", path), hide=True)
        return
    out = run_as_root(c, cmd(*write_atomic_argv(path, text)), hide=True, warn=True)
    if out.failed:
        raise DevnetError(f"cannot write {path}: {out.stderr.strip()}",
                          None if out.exited == REFUSED else "run it again as root")
