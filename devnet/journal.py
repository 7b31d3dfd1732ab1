"""What devnet changed on the host and the VM, kept on disk so `down` undoes exactly that.

Entries are written *before* the change they describe (write-ahead): if `up` dies between the
record and the change, `down` runs an undo that finds nothing to undo and says so. Each write
replaces the file atomically, so a crash never leaves half a journal.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from pathlib import Path

from devnet.errors import DevnetError


class Journal:
    def __init__(self, path: Path):
        self.path = Path(path)

    def entries(self) -> list[dict]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return []
        except json.JSONDecodeError as err:
            raise DevnetError(
                f"the journal {self.path} is not valid JSON ({err})",
                "look at it by hand; each entry names a step and what it changed",
            ) from err
        return list(data.get("entries", []))

    def has(self, step: str, **args) -> bool:
        return any(e["step"] == step and e["args"] == args for e in self.entries())

    def has_step(self, step: str) -> bool:
        return any(e["step"] == step for e in self.entries())

    def record_first(self, step: str, **args) -> None:
        """Record only when `step` has no entry yet: the first state seen is the one to put
        back (a file's content before devnet first changed it)."""
        with self._locked():
            if not self.has_step(step):
                self._append(step, args)

    def record(self, step: str, **args) -> None:
        """Note that `step` is about to change something; the same entry is kept once."""
        with self._locked():
            if self.has(step, **args):
                return
            self._append(step, args)

    def _append(self, step: str, args: dict) -> None:
        entries = self.entries()
        entries.append({"step": step, "args": args, "at": time.strftime("%Y-%m-%dT%H:%M:%S")})
        self._write(entries)

    def forget(self, step: str, **args) -> None:
        with self._locked():
            entries = [e for e in self.entries()
                       if not (e["step"] == step and e["args"] == args)]
            self._write(entries)

    @contextlib.contextmanager
    def _locked(self):
        """net.watch writes from its own process: one writer at a time (lock on the dir)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def undo_order(self) -> list[dict]:
        return list(reversed(self.entries()))

    def _write(self, entries: list[dict]) -> None:
        if not entries:
            self.path.unlink(missing_ok=True)
            _remove_empty_dirs(self.path.parent)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            json.dump({"entries": entries}, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


def _remove_empty_dirs(state_dir: Path) -> None:
    """Nothing left to undo: leave no empty state dir behind (nor /var/lib/devnet)."""
    for d in (state_dir, state_dir.parent if state_dir.parent.name == "devnet" else None):
        if d is None:
            break
        try:
            d.rmdir()
        except OSError:
            break
