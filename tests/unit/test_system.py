import pytest

from devnet import system
from devnet.errors import DevnetError


def test_missing_binary_names_the_apt_package(monkeypatch):
    monkeypatch.setattr(system, "which", lambda name: None)
    with pytest.raises(DevnetError) as err:
        system.require_binaries("dockerd", "sshd", "ip")
    assert "missing program(s): dockerd, sshd, ip" in str(err.value)
    assert "apt-get install -y docker.io iproute2 openssh-server" in str(err.value)


def test_not_root_says_what_needs_root(monkeypatch):
    monkeypatch.setattr(system.os, "geteuid", lambda: 1000)
    with pytest.raises(DevnetError, match="(?s)needs root to create namespaces.*sudo"):
        system.require_root("create namespaces")


def test_cmd_quotes_user_input():
    assert system.cmd("docker", "inspect", "u1; rm -rf /") == "docker inspect 'u1; rm -rf /'"


def test_wait_until_returns_the_first_truthy_result():
    seen = iter([None, RuntimeError("not yet"), "ready"])

    def check():
        value = next(seen)
        if isinstance(value, Exception):
            raise value
        return value

    assert system.wait_until(check, 5, "x", "y", pause=0) == "ready"


def test_wait_until_timeout_says_what_it_saw_last_and_what_to_try():
    def check():
        raise ConnectionRefusedError("refused")

    with pytest.raises(DevnetError) as err:
        system.wait_until(check, 0.05, "sshd to answer", "look at sshd.log", pause=0.01)
    assert "waiting for sshd to answer (last: ConnectionRefusedError: refused)" in str(err.value)
    assert "next: look at sshd.log" in str(err.value)


def test_wait_until_gives_up_at_once_on_a_devnet_error():
    calls = []

    def check():
        calls.append(1)
        raise DevnetError("dockerd exited with code 1")

    with pytest.raises(DevnetError, match="exited with code 1"):
        system.wait_until(check, 30, "dockerd", "read its log")
    assert len(calls) == 1
