"""`invoke up` interrupted mid-way (Ctrl-C or SIGKILL): `invoke down` still undoes it exactly,
because every change is journaled before it is made."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.machine import ROOT, Cli, snapshot


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "sigkill"])
def test_down_after_an_interrupted_up_leaves_nothing(sig, before, marks):
    cli = Cli(f"k{os.getpid() % 10**6}")
    journal = Path(f"/var/lib/devnet/{cli.instance}/journal.json")
    proc = subprocess.Popen([sys.executable, "-m", "invoke", "up"], cwd=ROOT, env=cli.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        # Interrupt while the VM boots: namespaces made, daemons starting.
        while '"vm.up"' not in (journal.read_text() if journal.exists() else ""):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
            time.sleep(0.01)
        proc.send_signal(sig)
        proc.wait(timeout=30)
        assert proc.returncode != 0
    finally:
        out = cli("down", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "undone vm.init" in out.stdout
    after = snapshot(marks)
    for key in before:
        assert after[key] == before[key], key
