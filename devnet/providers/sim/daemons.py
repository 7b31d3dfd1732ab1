"""The sim VM's processes: the power process that holds its mount namespace, and sshd,
dockerd, the NAT-style SSH forward and the upstream DNS, each recorded with its identity
(devnet.procs.Pidfile) before it runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from devnet.errors import DevnetError
from devnet.paths import PROJECT_DIR
from devnet.system import wait_until


def power_on(p) -> int:
    # A fresh /run at every boot, as tmpfs gives a real VM.
    shutil.rmtree(p.vm_run, ignore_errors=True)
    (p.vm_run / "sshd").mkdir(parents=True)
    # the VM's own hosts file where it has one (sim-desktop's names host.docker.internal)
    hosts = (f"mount --bind {p.vmroot}/etc/hosts /etc/hosts && "
             if (p.vmroot / "etc/hosts").exists() else "")
    script = (f"mount --bind {p.vm_run} /run && "
              f"mount --bind {p.vmroot}/etc/docker /etc/docker && "
              f"mount --bind {p.vmroot}/etc/resolv.conf /etc/resolv.conf && "
              f"{hosts}exec sleep infinity")
    proc = p.power.spawn(
        ["nsenter", f"--net=/run/netns/{p.vm_ns}", "unshare", "--mount",
         "--propagation", "private", "--", "sh", "-c", script],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )

    def booted():
        if proc.poll() is not None:
            raise DevnetError(f"the VM's power process failed: {proc.stderr.read().decode()}")
        return (p.vm_run / "sshd").exists() and _mounted_run(proc.pid, p.vm_run)

    wait_until(booted, 5, "the VM's mount namespace", "check that unshare and nsenter work")
    return proc.pid


def in_vm(p, pidfile, argv, **popen) -> subprocess.Popen:
    """Start a daemon in the VM's namespaces (it must not fork away: -D, --foreground)."""
    power = p.power_pid()
    if not power:
        raise DevnetError(f"the VM {p.vm_ns} is not powered on", "invoke vm.up")
    full = ["nsenter", "-t", str(power), "-m", "-n", "--", *map(str, argv)]
    return pidfile.spawn(full, start_new_session=True, **popen)


def start_forward(p) -> None:
    env = dict(os.environ, PYTHONPATH=str(PROJECT_DIR))
    with open(p.vmroot / "log/forward.log", "ab") as log:
        p.forward.spawn(
            [sys.executable, "-m", "devnet.providers.portforward", str(p.ssh_port),
             f"/run/netns/{p.vm_ns}", "22"],
            env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
        )


def start_dockerd(p) -> None:
    log_path = p.vmroot / "log/dockerd.log"
    with open(log_path, "ab") as log:
        proc = in_vm(p, p.dockerd,
            ["dockerd", "--data-root", p.vmroot / "var/lib/docker",
             "--cgroup-parent", f"/{p.cgroup}", "--shutdown-timeout", "2"],
            stdout=log, stderr=subprocess.STDOUT,
        )

    def answers():
        if proc.poll() is not None:
            raise DevnetError(
                f"dockerd in the VM exited with code {proc.returncode}:\n"
                + tail(log_path), f"fix the cause above (full log: {log_path})")
        return p.docker_client(timeout=2).ping()

    try:
        wait_until(answers, p.settings.start_timeout, "dockerd in the VM to answer",
                   f"read {log_path}")
    except DevnetError as err:
        if proc.poll() is not None:
            raise
        raise DevnetError(f"{err.what}\n{tail(log_path)}", err.hint) from err


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"({path} does not exist)"


def _mounted_run(pid: int, source: Path) -> bool:
    # The power process's /run is the VM's own once the bind mount is in place.
    try:
        return os.stat(f"/proc/{pid}/root/run").st_ino == os.stat(source).st_ino
    except OSError:
        return False

