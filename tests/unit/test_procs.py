"""devnet.procs: a pidfile names devnet's process only while its identity (start time, boot id)
matches; the real /proc of `sleep` processes these tests start themselves."""

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from devnet import procs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def unrelated():
    """A process devnet did not start (as after a reboot, when its PID is reused)."""
    proc = subprocess.Popen(["sleep", "1000"])
    yield proc
    proc.kill()
    proc.wait()


def wait_until(check, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout}s: {check}"
        time.sleep(0.02)


def wait_gone(pid, timeout=5.0):
    deadline = time.monotonic() + timeout
    while procs.alive(pid):
        assert time.monotonic() < deadline, f"{pid} still runs: {procs.cmdline(pid)}"
        time.sleep(0.02)


def test_identity_is_the_start_time_and_boot_of_the_process(unrelated):
    ident = procs.Identity.of(unrelated.pid)
    fields = Path(f"/proc/{unrelated.pid}/stat").read_text().split()
    assert ident.start == int(fields[21])  # field 22; `sleep` has no space in its name
    assert ident.boot == Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    assert ident.cmdline == "sleep 1000" and ident.matches()


def test_a_spawned_process_is_recorded_and_stopped(tmp_path):
    pidfile = procs.Pidfile(tmp_path / "p.pid")
    proc = pidfile.spawn(["sleep", "1000"])
    assert pidfile.pid() == proc.pid
    assert pidfile.read().start == procs.Identity.of(proc.pid).start
    # Once the gate has exec'd the program: the same PID, the same identity.
    wait_until(lambda: procs.cmdline(proc.pid) == "sleep 1000")
    assert pidfile.alive()
    assert pidfile.stop(2)
    assert not procs.alive(proc.pid) and not pidfile.path.exists()


@pytest.mark.parametrize("content", [
    lambda pid, ident: json.dumps({**ident, "start": ident["start"] - 1}),  # PID reused
    lambda pid, ident: json.dumps({**ident, "boot": "0" * 32}),  # written before a reboot
    lambda pid, ident: str(pid),  # a bare PID proves nothing
], ids=["other-start", "other-boot", "bare-pid"])
def test_a_stale_pidfile_is_removed_and_its_process_left_alone(tmp_path, capsys, unrelated,
                                                               content):
    path = tmp_path / "power.pid"
    path.write_text(content(unrelated.pid, asdict(procs.Identity.of(unrelated.pid))))
    pidfile = procs.Pidfile(path)
    assert pidfile.pid() is None and not path.exists()
    assert (f"stale pidfile {path} (process {unrelated.pid} is not devnet's: sleep 1000), "
            "left alone") in capsys.readouterr().err
    path.write_text(content(unrelated.pid, asdict(procs.Identity.of(unrelated.pid))))
    assert not pidfile.stop(1) and not path.exists()
    time.sleep(0.1)
    assert unrelated.poll() is None  # never signalled


def test_stop_with_an_identity_that_no_longer_matches_sends_nothing(unrelated):
    ident = procs.Identity.of(unrelated.pid)
    other = procs.Identity(ident.pid, ident.start + 1, ident.boot)
    assert not procs.stop(unrelated.pid, 1, other)
    assert unrelated.poll() is None


def test_the_program_never_runs_when_devnet_dies_before_recording_it(tmp_path):
    """The window where a kill left the sim's power process unrecorded: with the gate, a
    program whose pidfile was never written does not run at all."""
    marker = str(900000 + os.getpid() % 99999)
    script = (f"import os; from devnet import procs\n"
              f"procs.Pidfile.record = lambda self, pid: os._exit(9)\n"
              f"procs.Pidfile({str(tmp_path / 'p.pid')!r}).spawn(['sleep', {marker!r}])\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, timeout=10)
    assert out.returncode == 9
    def left():  # the gate (its command line holds the marker too) exits on its own
        return [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
                if marker in procs.cmdline(pid)]

    wait_until(lambda: not left())
    assert not (tmp_path / "p.pid").exists()


def test_the_machines_own_mount_namespace_is_never_swept():
    assert procs.pids_in_mount_ns({procs.namespace(1, "mnt")}) == []
    assert procs.pids_in_mount_ns(set()) == []


def test_the_dns_service_dies_with_its_supervisor(tmp_path):
    """SIGKILL (or the OOM killer) on the supervisor: its child gets SIGTERM from the kernel."""
    pidfile = tmp_path / "supervisor.pid"
    sup = subprocess.Popen([sys.executable, "-m", "devnet.dns.supervise", "--pidfile",
                            str(pidfile), "--log", str(tmp_path / "log"), "--", "sleep", "1000"],
                           cwd=ROOT, start_new_session=True)
    child = procs.Pidfile(f"{pidfile}.child")
    deadline = time.monotonic() + 10
    while not child.pid():
        assert time.monotonic() < deadline and sup.poll() is None
        time.sleep(0.02)
    pid = child.pid()
    assert procs.Pidfile(pidfile).pid() == sup.pid
    sup.kill()
    sup.wait()
    wait_gone(pid)
    assert child.pid() is None  # and the stale pidfile goes


def test_prctl_is_set_before_the_program_runs():
    preexec = procs.dies_with(os.getpid())
    out = subprocess.run(["grep", "^PPid", "/proc/self/status"], preexec_fn=preexec,
                         capture_output=True, text=True)
    assert out.stdout.split() == ["PPid:", str(os.getpid())]


def test_the_command_line_checks_inside_a_vm(tmp_path, unrelated):
    stale = tmp_path / "stale.pid"
    stale.write_text(str(unrelated.pid))
    run = [sys.executable, "-m", "devnet.procs"]
    assert subprocess.run([*run, "alive", str(stale)], cwd=ROOT).returncode == 1
    stale.write_text(str(unrelated.pid))
    out = subprocess.run([*run, "stop", str(stale)], cwd=ROOT, capture_output=True, text=True)
    assert f"{stale}: not running" in out.stdout and "left alone" in out.stderr
    assert unrelated.poll() is None
