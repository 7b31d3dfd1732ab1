"""devnet never makes the host's own DNS worse: with the VM halted or the DNS service not
answering, an outside name resolves on the host without waiting on devnet (before: 12 s with
the VM halted, glibc waiting on the dead first nameserver), and devnet's names come back when
the service does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from tests.e2e import machine
from tests.e2e.machine import wait_for

pytestmark = pytest.mark.sim_only("halts the sim VM and pauses its DNS process by PID")

DNS = "172.17.42.1"


def first_nameserver(provider) -> str:
    text = machine.on_host(provider.host_ns, "cat", "/etc/resolv.conf")
    return next((ln.split()[1] for ln in text.splitlines() if ln.startswith("nameserver")), "")


def timed_getent(provider, name: str) -> tuple[float, str]:
    start = time.monotonic()
    out = subprocess.run(["ip", "netns", "exec", provider.host_ns, "getent", "hosts", name],
                         capture_output=True, text=True, timeout=60).stdout
    return time.monotonic() - start, out


def test_outside_names_do_not_wait_on_a_halted_vm(cli, provider, devnet_up):
    assert first_nameserver(provider) == DNS
    halted = cli("vm.halt").stdout
    try:
        assert f"took nameserver {DNS} out of " in halted
        elapsed, out = timed_getent(provider, "www.example.test")
        print(f"getent hosts www.example.test with the VM halted: {elapsed:.3f}s")
        assert out.split()[:1] == ["192.0.2.10"]
        assert elapsed < 3.0, f"took {elapsed:.1f}s: the lookup waited on devnet"
        assert "already done: the VM is stopped" in cli("vm.halt").stdout
    finally:
        cli("up")
    assert first_nameserver(provider) == DNS  # `up` put it back first
    assert timed_getent(provider, "ns.docker")[1].split()[:1] == [DNS]


@pytest.fixture
def watching(cli, devnet_up):
    started = "net.watch started" in cli("net.watch", "--background").stdout
    yield
    if started:
        cli("net.watch", "--stop")


def test_net_watch_takes_a_silent_dns_out_and_puts_it_back(provider, watching):
    status = json.loads(machine.in_vm(provider, "cat", "/run/devnet-dns/status.json"))
    os.kill(status["pid"], signal.SIGSTOP)  # alive, but answers nothing
    try:
        wait_for(lambda: first_nameserver(provider) != DNS, timeout=10, pause=0.1)
        elapsed, out = timed_getent(provider, "www.example.test")
        assert out.split()[:1] == ["192.0.2.10"] and elapsed < 3.0, elapsed
        assert f"# devnet: nameserver {DNS} (.docker) out while" in \
            machine.on_host(provider.host_ns, "cat", "/etc/resolv.conf")
    finally:
        os.kill(status["pid"], signal.SIGCONT)
    wait_for(lambda: first_nameserver(provider) == DNS, timeout=10, pause=0.1)
    assert timed_getent(provider, "ns.docker")[1].split()[:1] == [DNS]
