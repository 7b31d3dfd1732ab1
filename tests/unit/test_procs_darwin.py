"""Process identity on macOS (no /proc, no pidfd): ps and sysctl output parsed, and
devnet.procs asking them instead of /proc when it runs there."""

import os
import subprocess
import time
from pathlib import Path

from devnet import procs, procs_darwin

MAC = Path(__file__).parent / "fixtures" / "macos"


def test_ps_gives_the_state_and_the_start_to_the_second():
    state, start = procs_darwin.parse_ps((MAC / "ps-o-stat-lstart.txt").read_text())
    assert state == "Ss"
    assert time.localtime(start)[:6] == (2026, 12, 1, 10, 20, 42)
    assert procs_darwin.parse_ps("") is None  # ps printed nothing: no such process


def test_the_boot_time_names_the_boot():
    text = (MAC / "sysctl-kern-boottime.txt").read_text()
    assert procs_darwin.parse_boottime(text) == "1764584442.51201"
    assert procs_darwin.parse_boottime("") == ""


def test_procs_asks_ps_on_macos(monkeypatch, tmp_path):
    """A pidfile written and trusted through ps's fields: the same PID with another start
    time is another process, left alone."""
    started = {"at": 1764590000}
    monkeypatch.setattr(procs, "DARWIN", True)
    monkeypatch.setattr(procs_darwin, "stat", lambda pid: ("S", started["at"]))
    monkeypatch.setattr(procs_darwin, "boot_id", lambda: "1764584442.51201")
    monkeypatch.setattr(procs_darwin, "cmdline", lambda pid: "wireguard-go utun")
    pidfile = procs.Pidfile(tmp_path / "wg.pid")
    ident = pidfile.record(os.getpid())
    assert (ident.start, ident.boot) == (1764590000, "1764584442.51201")
    assert pidfile.alive()
    started["at"] += 1  # the PID now names a process started later: not devnet's
    assert not pidfile.alive()
    assert not (tmp_path / "wg.pid").exists()


def test_a_zombie_is_not_alive_on_macos(monkeypatch):
    monkeypatch.setattr(procs, "DARWIN", True)
    monkeypatch.setattr(procs_darwin, "stat", lambda pid: ("Z", 1764590000))
    assert not procs.alive(4242)


def test_stop_without_a_pidfd(monkeypatch, tmp_path):
    """macOS's stop: identity checked, then kill(2); a real child here, ps answered from
    this machine's /proc so the child's exit is seen."""
    def ps(pid):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return None
        return state, 1764590000

    monkeypatch.setattr(procs, "DARWIN", True)
    monkeypatch.setattr(procs_darwin, "stat", ps)
    monkeypatch.setattr(procs_darwin, "boot_id", lambda: "b")
    monkeypatch.setattr(procs_darwin, "cmdline", lambda pid: "sleep 30")
    pidfile = procs.Pidfile(tmp_path / "sleep.pid")
    child = subprocess.Popen(["sleep", "30"])
    try:
        pidfile.record(child.pid)
        assert pidfile.stop(5)  # SIGTERM by kill(2); stop reaps it (its child here)
        assert ps(child.pid) is None and not (tmp_path / "sleep.pid").exists()
    finally:
        child.kill()
        child.wait()
