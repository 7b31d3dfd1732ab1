"""Processes devnet starts, known by identity: a PID alone never names a process.

PIDs are reused: after a reboot, or a long uptime, a pidfile may name some other program. So a
pidfile holds, beside the PID, the process's start time (/proc/<pid>/stat field 22, clock ticks
after boot) and the boot id; the process is devnet's only while both still match. The command
line is kept for messages only (exec changes it: nsenter -> unshare -> sleep). Signals go
through a pidfd opened before the identity is checked, so the PID cannot be reused in between.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from devnet import procs_darwin

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
DARWIN = sys.platform == "darwin"  # no /proc and no pidfd: devnet.procs_darwin
# Holds the program until its pidfile is written: when devnet dies first, the pipe closes,
# `read` fails and the program never runs, so no process of devnet's is ever unrecorded.
GATE = ["sh", "-c", 'read -r go && [ "$go" = go ] && exec "$@" </dev/null', "devnet-gate"]


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from field 3 (state) on; the command name may hold spaces. On macOS
    the two fields devnet reads (state, and the start at index 19) come from ps(1)."""
    if DARWIN:
        got = procs_darwin.stat(pid)
        return [got[0], *[""] * 18, str(got[1])] if got else None
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def alive(pid: int | None) -> bool:
    """Runs (a zombie has exited, though kill(0) still finds it)."""
    fields = _stat(pid) if pid else None
    return bool(fields) and fields[0] != "Z"


def cmdline(pid: int) -> str:
    if DARWIN:
        return procs_darwin.cmdline(pid)
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "(gone)"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip() or "(no command line)"


@dataclass(frozen=True)
class Identity:
    pid: int
    start: int  # clock ticks after boot: with the boot id, unique to one process ever
    boot: str
    cmdline: str = ""  # for messages only

    @classmethod
    def of(cls, pid: int) -> Identity | None:
        fields = _stat(pid)
        if not fields or fields[0] == "Z":
            return None
        boot = procs_darwin.boot_id() if DARWIN else BOOT_ID.read_text().strip()
        return cls(pid, int(fields[19]), boot, cmdline(pid))

    def matches(self) -> bool:
        now = Identity.of(self.pid)
        return now is not None and (now.start, now.boot) == (self.start, self.boot)


def notice(text: str) -> None:
    print(f"devnet: {text}", file=sys.stderr, flush=True)


class Pidfile:
    """One process devnet started: written with its identity, trusted only while it matches."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def record(self, pid: int) -> Identity:
        ident = Identity.of(pid)
        if ident is None:
            raise ProcessLookupError(f"process {pid} exited before it was recorded")
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps(asdict(ident)))
        os.replace(tmp, self.path)  # never half written: readers poll this file
        return ident

    def read(self) -> Identity | None:
        try:
            return Identity(**json.loads(self.path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def pid(self) -> int | None:
        """The PID while devnet's process runs; a stale pidfile is removed, the process named
        in it left alone."""
        ident = self.read()
        if ident and ident.matches():
            return ident.pid
        if self.path.exists():
            forget(self.path, ident.pid if ident else read_pid(self.path))
        return None

    def alive(self) -> bool:
        return self.pid() is not None

    def spawn(self, argv, **popen) -> subprocess.Popen:
        """Popen(argv), recorded here before the program runs (see GATE)."""
        r, w = os.pipe()
        try:
            try:
                proc = subprocess.Popen([*GATE, *map(str, argv)], stdin=r, **popen)
            finally:
                os.close(r)
            self.record(proc.pid)
            os.write(w, b"go\n")
        finally:
            os.close(w)
        return proc

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop devnet's process (if it is still devnet's) and remove the pidfile."""
        ident, pid = self.read(), self.pid()  # pid(): None, and says so, when stale
        stopped = pid is not None and stop(pid, timeout, ident)
        self.path.unlink(missing_ok=True)
        return stopped


PR_SET_PDEATHSIG = 1


def dies_with(parent: int):
    """preexec_fn: SIGTERM to the child when `parent` dies; exit at once if it already has."""
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before fork: nothing to import after

    def preexec():
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def forget(path: Path, pid: int | None) -> None:
    """Remove a pidfile that does not name devnet's process; say so if the PID runs."""
    if pid and alive(pid):
        notice(f"stale pidfile {path} (process {pid} is not devnet's: {cmdline(pid)}), "
               "left alone")
    Path(path).unlink(missing_ok=True)


def read_pid(path: Path) -> int | None:
    """The bare PID in a pidfile (devnet's own or one a daemon wrote); no identity check."""
    try:
        text = Path(path).read_text().strip()
        return int(json.loads(text)["pid"]) if text.startswith("{") else int(text)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def stop(pid: int | None, timeout: float = 10.0, ident: Identity | None = None) -> bool:
    """SIGTERM, wait up to `timeout`, then SIGKILL; True when a process was stopped. With
    `ident`, only while the PID still is that process (checked through a pidfd)."""
    if not alive(pid):
        return False
    if DARWIN:
        return _stop_darwin(pid, timeout, ident)
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return False  # gone meanwhile
    try:
        if ident and not ident.matches():
            return False
        # the pidfd names this very process from here on: no identity to check again
        return _term_then_kill(pid, timeout, lambda sig: signal.pidfd_send_signal(fd, sig))
    finally:
        os.close(fd)


def _stop_darwin(pid: int, timeout: float, ident: Identity | None) -> bool:
    """macOS has no pidfd: the identity is checked right before each signal, which leaves
    a PID reused within that instant (a start time to the second) as the only risk."""
    return _term_then_kill(pid, timeout, lambda sig: os.kill(pid, sig),
                           ours=lambda: not ident or ident.matches())


def _term_then_kill(pid: int, timeout: float, send, ours=lambda: True) -> bool:
    """send(SIGTERM), wait up to `timeout`, then send(SIGKILL) and wait 5 s; True once the
    process is gone. `ours()` is asked before each signal: False stops (after a signal of
    ours: gone, True; before any: never ours, False)."""
    sent = False
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if not ours():
            return sent
        sent = True
        try:
            send(sig)
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


def namespace(pid: int, kind: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:
        return None


def pids_in_mount_ns(namespaces: set[str]) -> list[int]:
    """Every process (but this one) in one of these mount namespaces (`namespace(pid, "mnt")`
    of processes the caller has checked are devnet's: the sim VM's). Never the namespace
    this process or PID 1 lives in: that would be the whole machine."""
    namespaces = set(namespaces) - {namespace(1, "mnt"), namespace(os.getpid(), "mnt")}
    if not namespaces:
        return []
    return [int(e) for e in os.listdir("/proc") if e.isdigit() and int(e) != os.getpid()
            and namespace(int(e), "mnt") in namespaces]


def main(argv: list[str]) -> int:
    """`python -m devnet.procs alive|stop PIDFILE...`: the same checks inside a VM, over SSH.
    alive: exit 0 when every PIDFILE names devnet's running process."""
    action, files = argv[0], [Pidfile(f) for f in argv[1:]]
    if action == "alive":
        return 0 if all(f.alive() for f in files) else 1
    if action == "stop":
        for f in files:
            print(f"{f.path}: {'stopped' if f.stop() else 'not running'}")
        return 0
    raise SystemExit(f"usage: python -m devnet.procs alive|stop PIDFILE...; not {action!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
