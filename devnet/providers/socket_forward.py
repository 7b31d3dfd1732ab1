"""The VM's Docker socket as a unix socket on this machine, through `ssh -N -L`, as
docker-machine and lima do: the Docker API is never on a TCP port. One ssh process per VM,
recorded with its identity (devnet.procs.Pidfile), stopped only while it is devnet's."""

from __future__ import annotations

from pathlib import Path

from devnet import procs
from devnet.system import wait_until

REMOTE_SOCKET = "/var/run/docker.sock"


def ssh_argv(sock: Path, dest: str, port: int, keys, known_hosts: str) -> list[str]:
    """`ssh -N -L sock:/var/run/docker.sock dest`, the VM's host key checked against the
    pinned one in `known_hosts` (never accepted unseen); a VM that stops answering ends the
    forward within 30 s (ServerAlive), a connect within 10 s."""
    argv = ["ssh", "-N", "-p", str(port), "-F", "/dev/null", "-o", "BatchMode=yes",
            "-o", "ExitOnForwardFailure=yes", "-o", "ConnectTimeout=10",
            "-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3",
            "-o", "StreamLocalBindUnlink=yes",
            "-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes"]
    for key in keys:
        argv += ["-i", str(key)]
    return [*argv, "-L", f"{sock}:{REMOTE_SOCKET}", dest]


def start(argv: list[str], sock: Path, pidfile: Path, log_path: Path) -> int:
    """Start the forward unless it runs; wait for its socket."""
    pid = procs.Pidfile(pidfile).pid()
    if pid and sock.exists():
        return pid
    sock.unlink(missing_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = procs.Pidfile(pidfile).spawn(argv, stdout=log, stderr=log,
                                            start_new_session=True)
    wait_until(sock.exists, 30, "the Docker socket forward (ssh -L)", f"read {log_path}")
    return proc.pid


def stop(pidfile: Path, sock: Path) -> bool:
    stopped = procs.Pidfile(pidfile).stop(5)
    sock.unlink(missing_ok=True)
    return stopped


def alive(pidfile: Path, sock: Path) -> bool:
    return procs.Pidfile(pidfile).alive() and sock.exists()
