"""Process identity on macOS, which has no /proc: ps(1) gives a process's state and start
time (`lstart`, to the second) and sysctl(8) the boot time; with the PID they name one process
(devnet.procs uses them where Linux reads /proc/<pid>/stat and the boot id)."""

from __future__ import annotations

import re
import subprocess
import time

C_LOCALE = {"LC_ALL": "C", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}  # lstart's fixed format


def _run(argv: list[str]) -> str:
    out = subprocess.run(argv, capture_output=True, text=True, env=C_LOCALE)
    return out.stdout if out.returncode == 0 else ""


def parse_ps(text: str) -> tuple[str, int] | None:
    """`ps -o stat=,lstart= -p PID`: the state letters, and the start as Unix seconds."""
    state, _, started = text.strip().partition(" ")
    if not state or not started.strip():
        return None
    return state, int(time.mktime(time.strptime(started.strip(), "%a %b %d %H:%M:%S %Y")))


def stat(pid: int) -> tuple[str, int] | None:
    return parse_ps(_run(["ps", "-o", "stat=,lstart=", "-p", str(pid)]))


def parse_boottime(text: str) -> str:
    """`sysctl -n kern.boottime`: `{ sec = 1764583242, usec = 51201 } Mon Dec  1 ...`."""
    found = re.search(r"sec = (\d+), usec = (\d+)", text)
    return f"{found.group(1)}.{found.group(2)}" if found else ""


def boot_id() -> str:
    return parse_boottime(_run(["sysctl", "-n", "kern.boottime"]))


def cmdline(pid: int) -> str:
    return _run(["ps", "-o", "command=", "-p", str(pid)]).strip() or "(gone)"
