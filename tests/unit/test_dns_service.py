"""The DNS service and its supervisor as real processes on loopback: the service answers,
writes its status and removes it on SIGTERM; the supervisor restarts a dying child with
back-off and stops it with itself."""

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dns.message
import dns.query

from devnet import procs
from devnet.dns.service import parse
from devnet.dns.vm_resolvers import RESOLV_CONF, discover
from tests.unit.conftest import tcp_and_udp_on_one_port

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port free for TCP and UDP both, as the service binds it."""
    tcp, udp = tcp_and_udp_on_one_port()
    with tcp, udp:
        return tcp.getsockname()[1]


def wait_for(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_resolv_conf_servers_skip_loopback_and_our_own_address():
    conf = ("# generated\nnameserver 10.0.2.3\nnameserver 127.0.0.53\n"
            "nameserver 172.17.42.1\nnameserver\nsearch lan\n")
    assert discover("172.17.42.1", read=lambda path: conf if path == RESOLV_CONF else "",
                    resolvectl=str) == (["10.0.2.3"], RESOLV_CONF)
    servers, why = discover("x", read=lambda path: "", resolvectl=str)
    assert servers == [] and why.startswith("none:")


def test_defaults_are_the_walk_throughs():
    args = parse([])
    assert (args.listen, args.domain, args.env, args.ttl) == ("172.17.42.1:53", "docker", "dev",
                                                               30)


def start_service(tmp_path):
    """The service on a free loopback port, no dockerd: (process, port, status file, log)."""
    port, status, log = free_port(), tmp_path / "status.json", tmp_path / "service.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "devnet.dns.service", "--listen", f"127.0.0.1:{port}",
             "--docker", f"unix://{tmp_path}/no-docker.sock", "--status", str(status),
             "--upstream", "127.0.0.1:9", "--allow", "127.0.0.0/8"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True)
    return proc, port, status, log


def test_the_service_answers_reports_and_stops_cleanly(tmp_path):
    proc, port, status, log = start_service(tmp_path)
    try:
        data = wait_for(lambda: status.exists() and json.loads(status.read_text()))
        assert data["pid"] == proc.pid and data["docker_connected"] is False
        assert data["upstream"] == ["127.0.0.1:9"] and data["containers"] == 0
        assert {"cache_entries", "cache_bytes"} <= set(data["queries"])
        q = dns.message.make_query("ns.docker", "A")
        resp = dns.query.udp(q, "127.0.0.1", port=port, timeout=2)
        assert resp.answer[0][0].to_text() == "127.0.0.1"  # ns.<domain> is the listen address
        tcp = dns.query.tcp(q, "127.0.0.1", port=port, timeout=2)
        assert tcp.answer == resp.answer
        # the registrar's thread says so on its own time: waited for, not raced with SIGTERM
        wait_for(lambda: "cannot read dockerd" in log.read_text())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=5)
    assert proc.returncode == 0 and not status.exists()
    assert "signal 15: stopping" in log.read_text()


def test_an_idle_service_stops_on_a_sigterm_another_thread_received(tmp_path):
    # The kernel may hand a process's SIGTERM to any of its threads; Python runs the handler
    # in the main thread (the UDP loop), which must wake for it with no query coming.
    proc, _, status, log = start_service(tmp_path)
    try:
        wait_for(lambda: status.exists())
        other = next(int(t) for t in os.listdir(f"/proc/{proc.pid}/task") if int(t) != proc.pid)
        assert ctypes.CDLL(None, use_errno=True).tgkill(proc.pid, other, signal.SIGTERM) == 0
        proc.wait(timeout=5)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0 and "signal 15: stopping" in log.read_text()


def test_the_supervisor_restarts_with_back_off_and_stops_its_child(tmp_path):
    pidfile, log, marker = tmp_path / "s.pid", tmp_path / "s.log", tmp_path / "runs"
    child = f"echo run >> {marker}; exit 3"
    sup = subprocess.Popen(
        [sys.executable, "-m", "devnet.dns.supervise", "--pidfile", str(pidfile),
         "--log", str(log), "--", "sh", "-c", child], cwd=ROOT)
    try:
        wait_for(lambda: marker.exists() and len(marker.read_text().split()) >= 3)
        text = log.read_text()
        assert "exited with 3, restarting in 0.4s" in text
        assert "exited with 3, restarting in 0.8s" in text  # crashing in a loop: backs off
        assert procs.read_pid(pidfile) == sup.pid
    finally:
        sup.send_signal(signal.SIGTERM)
        sup.wait(timeout=10)
    assert sup.returncode == 0


def test_sigterm_to_the_supervisor_ends_a_long_running_child(tmp_path):
    pidfile, log = tmp_path / "s.pid", tmp_path / "s.log"
    sup = subprocess.Popen(
        [sys.executable, "-m", "devnet.dns.supervise", "--pidfile", str(pidfile),
         "--log", str(log), "--", "sleep", "60"], cwd=ROOT)
    childfile = Path(str(pidfile) + ".child")
    child = wait_for(lambda: procs.read_pid(childfile))
    sup.send_signal(signal.SIGTERM)
    sup.wait(timeout=10)
    assert sup.returncode == 0 and not pidfile.exists() and not childfile.exists()
    assert not Path(f"/proc/{child}").exists()  # stopped and reaped
