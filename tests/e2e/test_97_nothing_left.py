"""Every process devnet starts is found and stopped, whatever died first: the DNS service
when its supervisor is SIGKILLed (as by the OOM killer), the sim VM's power process when
`up` is SIGKILLed the moment it starts it. The snapshot sees every process in a namespace
other than the machine's, named or not."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.machine import ROOT, Cli, assert_same, live_processes, snapshot, wait_for

pytestmark = pytest.mark.sim_only("reads the sim VM's pidfiles and processes on this machine")


def pid_in(path: Path) -> int:
    """The PID in a pidfile, either format (a bare PID, or devnet.procs' JSON)."""
    text = path.read_text().strip()
    return int(text.split('"pid": ')[1].split(",")[0]) if text.startswith("{") else int(text)


def dns_services(vm_mnt: str) -> list[int]:
    found = []
    for pid, command in live_processes().items():
        try:
            if ("-m devnet.dns.service" in command and "devnet.dns.supervise" not in command
                    and os.readlink(f"/proc/{pid}/ns/mnt") == vm_mnt):
                found.append(pid)
        except OSError:
            continue
    return found


def test_dns_service_goes_when_its_supervisor_was_killed(marks):
    before = snapshot(marks)  # this test's own: a session devnet may be up meanwhile
    cli = Cli(f"q{os.getpid() % 10**6}")
    state = Path(f"/var/lib/devnet/{cli.instance}")
    try:
        cli("up")
        vm_mnt = os.readlink(f"/proc/{pid_in(state / 'power.pid')}/ns/mnt")
        assert len(dns_services(vm_mnt)) == 1
        os.kill(pid_in(state / "vm/run/devnet-dns/supervisor.pid"), signal.SIGKILL)
        # The old supervisor's child kept serving (and port 53) with nobody to stop it.
        wait_for(lambda: not dns_services(vm_mnt), 3)
        out = cli("dns.start", "--remove")
        assert not dns_services(vm_mnt), out.stdout
        assert "done   dns.start" in cli("dns.start").stdout
        assert len(dns_services(vm_mnt)) == 1
        os.kill(pid_in(state / "vm/run/devnet-dns/supervisor.pid"), signal.SIGKILL)
        out = cli("down")
        assert "undone vm.init" in out.stdout
    finally:
        out = cli("down", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert_same(before, snapshot(marks))


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.parametrize("attempt", range(3))
def test_up_killed_as_it_powers_the_vm_on_leaves_nothing(attempt, marks):
    before = snapshot(marks)  # this test's own: a session devnet may be up meanwhile
    """SIGKILL `up` the instant vm.up forks the VM's power process (its first child after
    journaling vm.up), before it could write the pidfile: `down` still leaves nothing."""
    cli = Cli(f"w{os.getpid() % 10**5}{attempt}")
    journal = Path(f"/var/lib/devnet/{cli.instance}/journal.json")
    proc = subprocess.Popen([sys.executable, "-m", "invoke", "up"], cwd=ROOT, env=cli.env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while '"vm.up"' not in (journal.read_text() if journal.exists() else ""):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.0005)
        while not children(proc.pid):
            assert proc.poll() is None and time.monotonic() < deadline
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        out = cli("down", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    time.sleep(0.5)  # a gated process whose pidfile was never written exits on its own
    assert_same(before, snapshot(marks))
