"""Processes devnet starts: pidfiles, liveness, and stopping by PID (never by name)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def read_pid(path: Path) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        # A zombie still "exists" for kill(0); read its state to tell it from a live one.
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def stop(pid: int | None, timeout: float = 10.0) -> bool:
    """SIGTERM, wait up to `timeout`, then SIGKILL. True when a process was stopped."""
    if not alive(pid):
        return False
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(pid):
                _reap(pid)
                return True
            time.sleep(0.02)
    return not alive(pid)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def pids_in_mount_ns(ns_of_pid: int) -> list[int]:
    """Every process that shares the mount namespace of `ns_of_pid` (the sim VM's)."""
    try:
        target = os.readlink(f"/proc/{ns_of_pid}/ns/mnt")
    except OSError:
        return []
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == ns_of_pid:
            continue
        try:
            if os.readlink(f"/proc/{entry}/ns/mnt") == target:
                found.append(int(entry))
        except OSError:
            continue
    return found
