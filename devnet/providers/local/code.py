"""provider local (and guest): the DNS service runs as root on this machine (a systemd unit
that starts again at every boot, or a supervised process), so it runs only code no other
user can change: a copy of devnet's package and of the service's Python packages in
/usr/local/lib/devnet/<instance>, owned by root, run by the base interpreter (not the
virtualenv's, whose site-packages and .pth files its owner can write) with -s (no user
site). Every directory from / down to the copy and to the interpreter must be root's and
writable by no one else, or devnet refuses with the path at fault.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from pathlib import Path

from devnet.dns import VM_REQUIREMENTS
from devnet.errors import DevnetError
from devnet.host.sudo import run_as_root
from devnet.paths import PROJECT_DIR
from devnet.system import cmd

CODE_ROOT = Path("/usr/local/lib/devnet")


def sources() -> list[Path]:
    """devnet's package and the top-level packages of the service's distributions."""
    found = [PROJECT_DIR / "devnet"]
    for name in VM_REQUIREMENTS:
        dist = importlib.metadata.distribution(name)
        tops = {Path(str(f)).parts[0] for f in dist.files or ()
                if not str(f).startswith("..")}
        found += sorted(Path(dist.locate_file(t)) for t in tops
                        if not t.endswith((".dist-info", ".egg-info")) and t != "__pycache__")
    return found


def interpreter() -> str:
    """The Python behind this one's virtualenv (its real file, root's where Python is
    installed by the system or by root)."""
    return os.path.realpath(sys.executable)


def chain(path: str) -> list[str]:
    """`path` and every directory above it, top first."""
    p = Path(path)
    return [str(q) for q in reversed([p, *p.parents])]


def unsafe(stat_lines: str) -> list[str]:
    """From `stat -c '%u %g %a %n'` lines: the paths a non-root user owns or may write to
    (group write only for root's group)."""
    found = []
    for line in stat_lines.splitlines():
        uid, gid, mode, name = line.split(" ", 3)
        bits = int(mode, 8)
        if uid != "0" or bits & 0o002 or (bits & 0o020 and gid != "0"):
            found.append(f"{name} (owner {uid}:{gid}, mode {mode})")
    return found


def check_chain(c, path: str) -> None:
    out = c.run(cmd("stat", "-c", "%u %g %a %n", *chain(path)), hide=True)
    bad = unsafe(out.stdout)
    if bad:
        raise DevnetError(f"the DNS service would run code a non-root user can change: "
                          f"{', '.join(bad)}",
                          "make those root's and not group/world-writable (chown root; "
                          "chmod go-w), then invoke dns.start")


def install(c, instance: str) -> tuple[str, str]:
    """Copy the code to CODE_ROOT/<instance> (replaced whole, so a file removed from devnet
    goes too); returns (python, PYTHONPATH) for the service."""
    dest = CODE_ROOT / instance
    new = CODE_ROOT / f".{instance}.new"
    run_as_root(c, cmd("rm", "-rf", new), hide=True)
    run_as_root(c, cmd("mkdir", "-p", new), hide=True)
    run_as_root(c, cmd("cp", "-R", *sources(), new), hide=True)
    run_as_root(c, cmd("chown", "-R", "0:0", new), hide=True)
    run_as_root(c, cmd("chmod", "-R", "go-w", new), hide=True)
    run_as_root(c, cmd("rm", "-rf", dest), hide=True)
    run_as_root(c, cmd("mv", new, dest), hide=True)
    for path in (str(dest / "devnet/dns/service.py"), interpreter()):
        check_chain(c, path)
    return interpreter(), str(dest)


def remove(c, instance: str) -> None:
    run_as_root(c, cmd("rm", "-rf", CODE_ROOT / instance), hide=True)
    run_as_root(c, cmd("rmdir", CODE_ROOT), hide=True, warn=True)  # when no instance is left
