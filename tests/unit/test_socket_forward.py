"""The Docker socket forward: its ssh command line, and its lifecycle by PID with a stand-in
for ssh that serves a unix socket."""

import sys

from devnet import procs
from devnet.providers import socket_forward


def test_ssh_argv_forwards_the_socket_and_always_checks_the_pinned_host_key(tmp_path):
    argv = socket_forward.ssh_argv(tmp_path / "d.sock", "vagrant@192.168.121.37", 22,
                                   ("/k/private_key",), str(tmp_path / "known_hosts"))
    assert argv[:2] == ["ssh", "-N"] and argv[-1] == "vagrant@192.168.121.37"
    assert argv[-2:-1] == [f"{tmp_path / 'd.sock'}:/var/run/docker.sock"]
    assert "StrictHostKeyChecking=yes" in argv and ["-i", "/k/private_key"] == \
        argv[argv.index("-i"):argv.index("-i") + 2]
    assert f"UserKnownHostsFile={tmp_path / 'known_hosts'}" in argv
    assert "StrictHostKeyChecking=no" not in argv and "UserKnownHostsFile=/dev/null" not in argv
    assert "ConnectTimeout=10" in argv and "ServerAliveCountMax=3" in argv  # a hung VM ends it


def test_start_waits_for_the_socket_and_stop_ends_it_by_pid(tmp_path):
    sock, pidfile = tmp_path / "d.sock", tmp_path / "f.pid"
    serve = ("import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); "
             "s.listen(); time.sleep(60)")
    pid = socket_forward.start([sys.executable, "-c", serve, str(sock)], sock, pidfile,
                               tmp_path / "log")
    try:
        assert socket_forward.alive(pidfile, sock) and procs.read_pid(pidfile) == pid
        assert socket_forward.start(["false"], sock, pidfile, tmp_path / "log") == pid  # once
    finally:
        assert socket_forward.stop(pidfile, sock)
    assert not procs.alive(pid) and not sock.exists() and not pidfile.exists()
    assert socket_forward.stop(pidfile, sock) is False  # already stopped
