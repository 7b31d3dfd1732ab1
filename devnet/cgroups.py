"""Remove the cgroups the sim VM's dockerd made for its containers (`--cgroup-parent`).

dockerd leaves its parent cgroup behind in every controller even after a clean stop; and after
a hard stop, container processes may still live there. A real VM takes both with it when it
powers off; the sim has to do that itself.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _dirs(name: str) -> list[Path]:
    found = []
    if (CGROUP_ROOT / name).is_dir():  # cgroup v2 (unified at the root)
        found.append(CGROUP_ROOT / name)
    for controller in CGROUP_ROOT.iterdir() if CGROUP_ROOT.is_dir() else []:
        if (controller / name).is_dir():
            found.append(controller / name)
    return found


def _empty(cgroup: Path, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pids = (cgroup / "cgroup.procs").read_text().split()
        except OSError:
            return
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        time.sleep(0.05)


def sweep(name: str) -> list[str]:
    """Kill what still runs under cgroup `name` and remove its directories, deepest first."""
    removed = []
    for top in _dirs(name):
        tree = sorted((Path(d) for d, _, _ in os.walk(top)), key=lambda p: -len(p.parts))
        for d in tree:
            _empty(d)
        for d in tree:
            try:
                d.rmdir()
            except OSError:
                continue
        if not top.exists():
            removed.append(str(top))
    return [f"cgroup {name} ({len(removed)} dirs)"] if removed else []
