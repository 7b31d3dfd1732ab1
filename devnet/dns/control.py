"""Run devnet's DNS service in the VM over SSH: a systemd unit where the VM has systemd,
otherwise a supervised background process (pidfile, log, restart on crash)."""

from __future__ import annotations

import json
import shlex

from devnet.dns import container, etcd_status, store_config
from devnet.system import cmd

RUN_DIR = "/run/devnet-dns"
PIDFILE, LOG, STATUS = f"{RUN_DIR}/supervisor.pid", f"{RUN_DIR}/dns.log", f"{RUN_DIR}/status.json"
FRESH = 5  # seconds: the service rewrites its status every second
CHILDFILE = f"{PIDFILE}.child"  # the service itself, written by the supervisor
UNIT_NAME = "devnet-dns.service"
UNIT_PATH = f"/etc/systemd/system/{UNIT_NAME}"
UNIT = """\
[Unit]
Description=devnet DNS for containers ({domain})
After=docker.service

[Service]
ExecStart={command}
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
"""


def service_args(settings) -> list[str]:
    s = settings
    args = ["--listen", f"{s.dns_ip}:53", "--domain", s.dns.domain, "--env", s.dns.environment,
            "--ttl", str(s.dns.ttl), "--status", STATUS, "--allow", str(s.hostonly.network)]
    for sub in s.docker_subnets:
        args += ["--allow", str(sub), "--reverse", str(sub)]
    for up in s.dns.upstream:
        args += ["--upstream", up]
    return args + store_config.service_args(s.dns.store, s.dns.etcd, s.instance)


def python_argv(dn, module: str) -> list[str]:
    """-s: the service (root) never reads a user's site-packages."""
    python, path = dn.provider.vm_python()
    env = ["env", f"PYTHONPATH={path}"] if path else []
    return [*env, python, "-s", "-m", module]


def read_status(dn) -> dict | None:
    return parse_status(dn.vm_read(STATUS))


def parse_status(text: str | None) -> dict | None:
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError:
        return None  # being replaced right now


STATUS_AND_CLOCK_SH = f"date +%s; cat {STATUS} 2>/dev/null"
STATUS_AND_CLOCK = cmd("sh", "-c", STATUS_AND_CLOCK_SH)  # the command line, as run


def status_age(dn) -> tuple[dict | None, float]:
    """The status and its age in seconds by the VM's own clock, read in one command: a VM's
    clock may be off the host's (after a laptop's sleep), and the checks that follow take
    seconds in a slow VM (one emulated CPU), so neither clock nor delay may age it."""
    out = dn.vm_run("sh", "-c", STATUS_AND_CLOCK_SH, warn=True)
    now, _, text = out.stdout.partition("\n")
    st = parse_status(text)
    if not st or not now.strip().isdigit():
        return None, float("inf")
    return st, int(now) + 0.5 - st.get("written", 0)  # date says whole seconds: the middle


def systemd(dn) -> bool:
    return dn.vm_run("test", "-d", "/run/systemd/system", warn=True).ok


def supervisor_alive(dn) -> bool:
    # By identity (devnet.procs), not `kill -0 $(cat pidfile)`: the PID may be another's now.
    check = cmd(*python_argv(dn, "devnet.procs"), "alive", PIDFILE)
    return dn.vm_run("sh", "-c", f"test -e {PIDFILE} && {check}", warn=True).ok


def in_container(dn) -> bool:
    return dn.provider.dns_runtime() == "container"


def service_alive(dn) -> bool:
    if in_container(dn):
        return container.alive(dn)
    return supervisor_alive(dn) or (systemd(dn) and dn.vm_run(
        "systemctl", "is-active", "--quiet", UNIT_NAME, warn=True).ok)


def running(dn) -> dict | None:
    """The status of a serving DNS service whose settings are the current ones, else None."""
    st, age = status_age(dn)
    if not st or age >= FRESH or st.get("args") != service_args(dn.settings):
        return None
    return st if service_alive(dn) else None


def stop(dn) -> str:
    said = _stop(dn)
    dn.provider.release_dns_code()
    return said


def _stop(dn) -> str:
    # Whichever runtime runs it now: devnet.dns.runtime may have changed since.
    if container.exists(dn):
        container.remove(dn)
        dn.vm_run("rm", "-f", STATUS)
        return f"removed the {container.NAME} container"
    if systemd(dn) and dn.vm_run("test", "-e", UNIT_PATH, warn=True).ok:
        dn.vm_run("systemctl", "disable", "--now", UNIT_NAME, warn=True)
        dn.vm_run("rm", "-f", UNIT_PATH)
        dn.vm_run("systemctl", "daemon-reload")
        return f"stopped and removed {UNIT_NAME}"
    # The supervisor, then the service itself in case the supervisor died before it.
    files = f"test -e {PIDFILE} -o -e {CHILDFILE}"
    out = dn.vm_run("sh", "-c", f"! {files} || "
                    + cmd(*python_argv(dn, "devnet.procs"), "stop", PIDFILE, CHILDFILE) + " 2>&1")
    dn.vm_run("rm", "-f", STATUS)
    notes = [line for line in out.stdout.splitlines() if "stale pidfile" in line]
    done = "stopped the DNS service" if ": stopped" in out.stdout else "was not running"
    return "; ".join([done, *notes])


def describe_status(st: dict | None) -> list[str]:
    if not st:
        return ["not running"]
    q = st.get("queries", {})
    return [
        f"serving .{st['domain']} on {st['listen']} (udp+tcp), pid {st['pid']}, "
        f"up {st['uptime']:.0f}s",
        f"{st['containers']} container(s), {st['records']} record(s); docker "
        f"{'connected' if st['docker_connected'] else 'DISCONNECTED'}, {st['resyncs']} resync(s)",
        f"last event: {st['last_event'] or '-'}",
        f"recursion for: {', '.join(st.get('recursion', [])) or 'loopback only'}",
        f"upstream: {', '.join(st['upstream']) or 'none'}"
        + (f" from {st['upstream_source']}" if st.get("upstream_source") else "")
        + (f" (last error: {st['upstream_error']})" if st.get("upstream_error") else ""),
        "queries: " + (", ".join(f"{k} {v}" for k, v in sorted(q.items())) or "none"),
        *etcd_status.describe(st.get("store")),
    ]


def logs_command(dn, lines: int) -> str:
    if in_container(dn):
        return f"docker logs --tail {int(lines)} {container.NAME} 2>&1"
    return f"tail -n {int(lines)} {shlex.quote(LOG)}"
