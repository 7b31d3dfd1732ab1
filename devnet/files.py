"""Replace a system file (resolv.conf, /etc/resolver/<domain>, daemon.json, a unit file)
atomically, keeping its mode and owner: on this machine or in the VM, through whatever
Context runs the command (Invoke, sudo, Fabric).

The steps, in a POSIX shell so the same command runs on Linux, macOS and busybox (boot2docker):
a temp file in the same directory (a rename never crosses file systems), the old file's mode
and owner on it (`stat` values: neither busybox nor macOS has `chmod --reference`), fsync,
rename over the old one, fsync the directory. A reader sees the old file or the new one,
never a half-written one; a crash leaves at worst a `.devnet.*` temp file beside it.

A symlink is never written through (it points into a file some other program generates:
systemd-resolved's stub-resolv.conf, NetworkManager's, resolvconf's): the command refuses it.
A file bind-mounted over (a container's or `ip netns exec`'s resolv.conf) cannot be renamed
onto; it is rewritten in place from the synced temp copy, the best such a file allows.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

REFUSED = 3  # the exit status when the path is a symlink

SCRIPT = r"""set -e
f=$1
if [ -L "$f" ]; then
    echo "$f is a symlink (to $(readlink "$f")): devnet does not write through it" >&2
    exit 3
fi
d=$(dirname "$f")
tmp=$(mktemp "$d/.devnet.XXXXXX")
trap 'rm -f "$tmp"' EXIT
trap 'exit 130' INT TERM HUP
printf '%s' "$0" > "$tmp"
if [ -e "$f" ]; then
    owner=$(stat -c %u:%g "$f" 2>/dev/null || stat -f %u:%g "$f")
    mode=$(stat -c %a "$f" 2>/dev/null || stat -f %Lp "$f")
    chown "$owner" "$tmp"
    chmod "$mode" "$tmp"
else
    chmod 644 "$tmp"
fi
sync "$tmp" 2>/dev/null || sync
if ! mv -f "$tmp" "$f" 2>/dev/null; then
    awk -v f="$f" '$5 == f {m = 1} END {exit !m}' /proc/self/mountinfo 2>/dev/null \
        || mv -f "$tmp" "$f"
    cat "$tmp" > "$f"
    sync "$f" 2>/dev/null || sync
fi
sync "$d" 2>/dev/null || sync
"""


def write_atomic_argv(path: str, text: str) -> list[str]:
    """A command that atomically replaces `path` with `text` (an argument, not stdin:
    Invoke's stdin forwarding costs ~1.7 s per call)."""
    return ["sh", "-c", SCRIPT, text, path]


def write_local(path, text: str, mode: int = 0o600) -> None:
    """The same, for devnet's own files on this machine (known_hosts), in Python."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".devnet.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
