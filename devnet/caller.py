"""Who called devnet: as root through sudo, work that needs no root (lint, unit tests) runs
as the person behind sudo instead, as devnet.sh does for whole commands."""

from __future__ import annotations

import functools
import os
import pwd
import shlex
import subprocess
import sys


@functools.cache
def caller() -> str | None:
    """SUDO_USER when devnet runs as root for someone else and that user can run this
    Python (a Python under /root cannot be); None: run as whoever devnet runs as."""
    user = os.environ.get("SUDO_USER", "")
    if os.geteuid() != 0 or user in ("", "root"):
        return None
    ok = subprocess.run(["runuser", "-u", user, "--", sys.executable, "-c", ""],
                        capture_output=True).returncode == 0
    return user if ok else None


def as_caller(line: str) -> str:
    """The shell command `line`, run as the caller when there is one (`caller()`)."""
    user = caller()
    if user is None:
        return line
    home = pwd.getpwnam(user).pw_dir
    return (f"runuser -u {shlex.quote(user)} -- env HOME={shlex.quote(home)} "
            f"USER={shlex.quote(user)} LOGNAME={shlex.quote(user)} {line}")
