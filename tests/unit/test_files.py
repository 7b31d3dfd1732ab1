"""files.write_atomic_argv: the real command, run by sh (dash) and by busybox's sh with only
busybox's tools on PATH (boot2docker's Tiny Core has nothing else), in a temp directory."""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from invoke import MockContext, Result

from devnet import files
from devnet.core import Devnet
from devnet.system import cmd

BUSYBOX = shutil.which("busybox")
APPLETS = ("awk", "cat", "chmod", "chown", "dirname", "mktemp", "mv", "printf", "readlink",
           "rm", "stat", "sync", "sh", "[")


@pytest.fixture(params=["sh", "busybox"])
def write(request, tmp_path):
    env = dict(os.environ)
    if request.param == "busybox":
        assert BUSYBOX, "busybox-static is one of devnet.sh's packages"
        bin_dir = tmp_path / "busybox-bin"
        bin_dir.mkdir()
        for applet in APPLETS:
            (bin_dir / applet).symlink_to(BUSYBOX)
        env["PATH"] = str(bin_dir)

    def run(path: Path, text: str):
        argv = files.write_atomic_argv(str(path), text)
        if request.param == "busybox":
            argv = [BUSYBOX, *argv]
        return subprocess.run(argv, env=env, capture_output=True, text=True)

    return run


def test_replaces_by_rename_keeping_mode_and_owner(write, tmp_path):
    target = tmp_path / "etc" / "daemon.json"
    target.parent.mkdir()
    target.write_text("{}\n")
    os.chmod(target, 0o640)
    os.chown(target, 1234, 4321) if os.geteuid() == 0 else None
    before = target.stat()
    out = write(target, '{"bip": "172.17.42.1/16"}\n')
    assert out.returncode == 0, out.stderr
    after = target.stat()
    assert target.read_text() == '{"bip": "172.17.42.1/16"}\n'
    assert after.st_ino != before.st_ino  # a new file renamed over, not the old one truncated
    assert (after.st_mode & 0o7777, after.st_uid, after.st_gid) == \
        (0o640, before.st_uid, before.st_gid)
    assert sorted(p.name for p in target.parent.iterdir()) == ["daemon.json"]  # no temp left


def test_a_new_file_is_0644(write, tmp_path):
    target = tmp_path / "docker"
    assert write(target, "nameserver 172.17.42.1\n").returncode == 0
    assert target.read_text() == "nameserver 172.17.42.1\n"
    assert target.stat().st_mode & 0o7777 == 0o644


def test_text_is_written_exactly(write, tmp_path):
    text = "a %s $HOME `id` \\n 'q' \"dq\"\n\nno newline at the end"
    target = tmp_path / "f"
    assert write(target, text).returncode == 0
    assert target.read_text() == text


def test_a_symlink_is_never_written_through(write, tmp_path):
    generated = tmp_path / "run" / "stub-resolv.conf"
    generated.parent.mkdir()
    generated.write_text("nameserver 127.0.0.53\n")
    link = tmp_path / "resolv.conf"
    link.symlink_to(generated)
    out = write(link, "nameserver 172.17.42.1\n")
    assert out.returncode == files.REFUSED
    assert "is a symlink" in out.stderr and "does not write through it" in out.stderr
    assert link.is_symlink() and generated.read_text() == "nameserver 127.0.0.53\n"


def test_a_missing_directory_fails_and_creates_nothing(write, tmp_path):
    out = write(tmp_path / "resolver" / "docker", "nameserver 172.17.42.1\n")
    assert out.returncode != 0 and list(tmp_path.iterdir()) in ([], [tmp_path / "busybox-bin"])


def test_vm_write_replaces_atomically_over_the_connection(settings):
    """daemon.json and the DNS unit file in the VM go through the same command."""
    line = cmd(*files.write_atomic_argv("/etc/docker/daemon.json", "{}\n"))
    dn = Devnet(settings, echo=lambda _: None)
    dn._conn = MockContext(run={line: Result("")})
    dn.vm_write("/etc/docker/daemon.json", "{}\n")
    assert [c.args[0] for c in dn._conn.run.call_args_list] == [line]


def test_a_killed_write_leaves_the_old_file_and_no_temp(tmp_path):
    """SIGTERM while the new text is being written (a reader of a fifo stands in for a slow
    disk): the old file stays as it was, and the temp file goes."""
    target = tmp_path / "resolv.conf"
    target.write_text("nameserver 10.0.0.138\n")
    slow = tmp_path / "slowbin"
    slow.mkdir()
    (slow / "sync").write_text("#!/bin/sh\nsleep 30\n")
    os.chmod(slow / "sync", 0o755)
    env = dict(os.environ, PATH=f"{slow}:{os.environ['PATH']}")
    proc = subprocess.Popen(files.write_atomic_argv(str(target), "nameserver 172.17.42.1\n"),
                            env=env, start_new_session=True)
    deadline = time.monotonic() + 5
    while not list(tmp_path.glob(".devnet.*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # inside the (slow) sync of the temp file, before the rename
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(5)
    assert target.read_text() == "nameserver 10.0.0.138\n"
    assert list(tmp_path.glob(".devnet.*")) == []
