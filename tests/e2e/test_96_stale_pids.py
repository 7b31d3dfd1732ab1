"""After a reboot devnet's pidfiles name whatever processes inherited those PIDs: `vm.halt`,
`up` and `down` must leave such processes alive and untouched (no signal, no nsenter into
them, no "kill everything in its mount namespace"), remove the stale pidfiles and say so."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.machine import Cli, assert_same, snapshot

pytestmark = pytest.mark.sim_only("writes the sim's pidfiles on this machine's disk")

# Every pidfile devnet (or a daemon it starts) keeps for the sim VM, relative to its state dir.
PIDFILES = ["power.pid", "forward.pid", "upstream.pid", "sshd.pid", "dockerd.pid",
            "vm/run/docker.pid", "vm/run/sshd.pid", "vm/run/devnet-dns/supervisor.pid",
            "vm/run/devnet-dns/supervisor.pid.child"]


@pytest.fixture
def strangers():
    """Two processes that are not devnet's: a plain one, and one in mount and network
    namespaces of its own (as a container's), which the old power-off swept wholesale."""
    plain = subprocess.Popen(["sleep", "1000"], start_new_session=True)
    boxed = subprocess.Popen(["unshare", "--mount", "--net", "--propagation", "private",
                              "sleep", "1001"], start_new_session=True)
    yield plain, boxed
    for proc in (plain, boxed):
        proc.kill()
        proc.wait()


def as_after_a_reboot(state: Path, strangers) -> None:
    """Each pidfile names one of the strangers, as a bare PID (what the old devnet and every
    daemon write); the power process's names the namespaced one. What still ran is gone, as
    after a reboot: the simulated internet's DNS outlives `vm.halt`, not a reboot."""
    plain, boxed = strangers
    for name in PIDFILES:
        gone_in_the_reboot(state / name, spare={p.pid for p in strangers})
    for name in PIDFILES:
        path = state / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{boxed.pid if name == 'power.pid' else plain.pid}\n")


def gone_in_the_reboot(pidfile: Path, spare: set[int]) -> None:
    """Kill the process a pidfile of this test's instance names (JSON or a bare PID), unless
    it is one of the strangers an earlier round wrote there."""
    try:
        text = pidfile.read_text().strip()
        pid = int(json.loads(text)["pid"] if text.startswith("{") else text)
        if pid in spare:
            return
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError, KeyError):
        return
    for _ in range(100):
        if not Path(f"/proc/{pid}").exists() or stat(pid)[0] == "Z":
            return
        time.sleep(0.05)


def stat(pid: int) -> list[str]:
    """/proc/<pid>/stat from field 3 (state) on: [0] the state, [19] the start time. Read here,
    not through devnet.procs: the test must not trust the code it checks."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def sharing_mount_ns(pid: int) -> list[int]:
    ns = os.readlink(f"/proc/{pid}/ns/mnt")
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{entry}/ns/mnt") == ns:
                found.append(int(entry))
        except OSError:
            continue
    return found


def assert_untouched(strangers, starts, output: str) -> None:
    for proc, start in zip(strangers, starts, strict=True):
        assert proc.poll() is None, f"{proc.args} was killed\n{output}"
        fields = stat(proc.pid)
        assert fields[19] == start and fields[0] == "S", f"{proc.args}: {fields[0]}\n{output}"
    # Nothing was started in its namespaces (the old `up` ran sshd and dockerd there).
    assert sharing_mount_ns(strangers[1].pid) == [strangers[1].pid], output
    assert f"(process {strangers[0].pid} is not devnet's: sleep 1000), left alone" in output


def test_stale_pidfiles_name_processes_that_are_left_alone(strangers, marks):
    before = snapshot(marks)  # this test's own: a session devnet may be up meanwhile
    cli = Cli(f"p{os.getpid() % 10**6}")
    state = Path(f"/var/lib/devnet/{cli.instance}")
    starts = [stat(p.pid)[19] for p in strangers]
    try:
        cli("up")
        cli("vm.halt")
        as_after_a_reboot(state, strangers)
        out = cli("vm.halt")
        assert_untouched(strangers, starts, out.stdout + out.stderr)

        as_after_a_reboot(state, strangers)
        out = cli("up")
        assert_untouched(strangers, starts, out.stdout + out.stderr)
        assert "done   vm.up" in out.stdout
        assert "devnet up:" in out.stdout

        cli("vm.halt")
        as_after_a_reboot(state, strangers)
        out = cli("down")
        assert_untouched(strangers, starts, out.stdout + out.stderr)
        assert "undone vm.init" in out.stdout
    finally:
        out = cli("down", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    for proc in strangers:
        proc.kill()
        proc.wait()
    after = snapshot(marks)
    assert_same(before, after)
