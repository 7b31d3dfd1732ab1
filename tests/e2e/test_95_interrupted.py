"""`invoke up` interrupted inside each step in turn (Ctrl-C and SIGKILL): `invoke down` still
undoes it exactly, because every change is journaled before it is made. After a SIGKILL, `up`
again completes without a duplicate journal entry. SSH dropped in the middle of `up`: a clear
error, and `up` again completes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devnet import procs
from tests.e2e.machine import ROOT, Cli, assert_same, snapshot

pytestmark = pytest.mark.sim_only("16 interrupted up/down cycles: hours under TCG")

STEPS = ["vm.init", "vm.up", "vm.hostonly", "vm.forward", "net.route", "docker.configure",
         "dns.start", "dns.resolver"]


def start_up(cli: Cli) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "invoke", "up"], cwd=ROOT, env=cli.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_step(proc, journal: Path, step: str) -> None:
    """Until `step` has journaled its change (it is acting right now)."""
    deadline = time.monotonic() + 60
    while f'"{step}"' not in (journal.read_text() if journal.exists() else ""):
        assert proc.poll() is None, f"up ended before {step}: {proc.stdout.read()}"
        assert time.monotonic() < deadline
        time.sleep(0.005)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "sigkill"])
@pytest.mark.parametrize("step", STEPS)
def test_down_after_up_interrupted_in_each_step(step, sig, marks):
    # The machine as this case finds it: the session's `before` holds only while the
    # session's devnet is down, which a selection without test_90 (`-k dns`) leaves up.
    before = snapshot(marks)
    cli = Cli(f"k{os.getpid() % 10**6}")
    journal = Path(f"/var/lib/devnet/{cli.instance}/journal.json")
    proc = start_up(cli)
    try:
        wait_for_step(proc, journal, step)
        proc.send_signal(sig)
        proc.wait(timeout=30)
        if sig == signal.SIGKILL:
            again = cli("up")  # resumes: finishes what was left, duplicates nothing
            entries = [(e["step"], json.dumps(e["args"])) for e in
                       json.loads(journal.read_text())["entries"]]
            assert len(entries) == len(set(entries))
            assert "devnet up:" in again.stdout
    finally:
        out = cli("down", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "undone vm.init" in out.stdout
    assert_same(before, snapshot(marks))


def test_ssh_dropped_in_the_middle_of_up(marks):
    before = snapshot(marks)  # as above
    cli = Cli(f"s{os.getpid() % 10**6}")
    state = Path(f"/var/lib/devnet/{cli.instance}")
    proc = start_up(cli)
    try:
        wait_for_step(proc, state / "journal.json", "vm.hostonly")
        # The NAT port-forward carries the SSH session: killing it drops the connection.
        os.kill(procs.read_pid(state / "forward.pid"), signal.SIGKILL)
        output = proc.communicate(timeout=60)[0]
        if proc.returncode != 0:  # the drop landed while SSH was in use
            assert "cannot reach the VM over SSH" in output and "Traceback" not in output
            assert "next: invoke vm.up" in output
        again = cli("up")
        assert "done   vm.up" in again.stdout  # the forward is started again
        assert "devnet up:" in again.stdout
    finally:
        out = cli("down", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert_same(before, snapshot(marks))
