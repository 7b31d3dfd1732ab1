"""Helpers for e2e tests: run devnet's CLI, probe from the simulated host, snapshot state."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from devnet import providers
from devnet.dns import container
from devnet.dns.control import STATUS
from devnet.tunnel.keys import Tunnel

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("tcp_probe.py")


@dataclass
class Cli:
    instance: str
    extra: dict = field(default_factory=dict)  # more INVOKE_DEVNET_* settings for this run

    def env(self) -> dict:
        return dict(os.environ, INVOKE_DEVNET_INSTANCE=self.instance, **self.extra)

    def __call__(self, *args: str, check: bool = True, timeout: float = 300):
        out = subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT, env=self.env(),
                             capture_output=True, text=True, timeout=timeout)
        if check and out.returncode != 0:
            raise AssertionError(
                f"invoke {' '.join(args)} exited {out.returncode}\n"
                f"--- stdout\n{out.stdout}\n--- stderr\n{out.stderr}"
            )
        return out


def in_vm(provider, *argv: str) -> str:
    """A command's output, run in the VM over SSH as devnet reaches it (sim or real VM)."""
    conn = provider.connection()
    try:
        return conn.run(shlex.join(argv), hide=True, in_stream=False).stdout
    finally:
        conn.close()


def tunnel_reach(provider) -> bool:
    """Reached through devnet's WireGuard tunnel (no host-only link, no SSH into the VM)."""
    return provider.tunnels()


def in_vm_sh(provider, script: str) -> str:
    """A shell script's output in the VM's network: over SSH where devnet has it, else in the
    tunnel's helper container (host network: the VM's own), the one way into a Desktop VM."""
    if not tunnel_reach(provider):
        return in_vm(provider, "sh", "-c", script)
    client = provider.docker_client()
    try:
        helper = client.containers.get(Tunnel(provider.settings.instance,
                                              provider.settings.state_dir).container)
        return helper.exec_run(["sh", "-c", script]).output.decode()
    finally:
        client.close()


def vm_iptables_save(provider) -> str:
    """The VM's rules; the helper carries iptables as xtables' multi-binaries (both backends)."""
    if not tunnel_reach(provider):
        return in_vm(provider, "iptables-save")
    return in_vm_sh(provider, "xtables-legacy-multi iptables-save 2>/dev/null; "
                              "xtables-nft-multi iptables-save 2>/dev/null")


def dns_status(provider) -> dict:
    """The DNS service's status file: on the VM's disk (SSH), or in its container (tunnel)."""
    if not tunnel_reach(provider):
        return json.loads(in_vm(provider, "cat", STATUS))
    client = provider.docker_client()
    try:
        out = client.containers.get(container.NAME).exec_run(
            ["python3", "-c", f"print(open({STATUS!r}).read())"])
        return json.loads(out.output)
    finally:
        client.close()


def dns_evidence(provider, cli) -> str:
    """What a failed DNS assertion should show: the service's status (its clock, not this
    machine's, aged `written`), Docker's bridge subnets now, and the service's log tail."""
    st = {k: v for k, v in dns_status(provider).items() if k not in ("queries", "args")}
    client = provider.docker_client()
    try:
        nets = {n.name: [c.get("Subnet") for c in (n.attrs.get("IPAM") or {}).get("Config") or []]
                for n in client.networks.list()}
        if tunnel_reach(provider):
            log = client.containers.get(container.NAME).logs(tail=40).decode(errors="replace")
        else:
            log = cli("dns.logs", "--lines", "40", check=False).stdout
    finally:
        client.close()
    return (f"status read at {time.time():.1f} (this machine): {json.dumps(st)}\n"
            f"docker networks: {nets}\n--- the service's log\n{log}")


def sh(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def tcp_from_host(host_ns: str, ip: str, port: int = 7777, timeout: float = 3.0):
    """A real TCP connection from inside the simulated developer machine."""
    return subprocess.run(["ip", "netns", "exec", host_ns, sys.executable, str(PROBE), ip,
                           str(port), str(timeout)], capture_output=True, text=True, timeout=20)


def on_host(host_ns: str, *argv: str, timeout: float = 20) -> str:
    """A command's output, run on the simulated developer machine."""
    return subprocess.run(["ip", "netns", "exec", host_ns, *argv], capture_output=True,
                          text=True, timeout=timeout).stdout


def dig(host_ns: str, *args: str) -> list[str]:
    """The answers of `dig +short`; its ";; connection timed out" lines are not answers."""
    out = on_host(host_ns, "dig", "+short", "+time=1", "+tries=1", *args)
    return [w for line in out.splitlines() if not line.startswith(";") for w in line.split()]


def wait_for(check, timeout: float = 5.0, pause: float = 0.02) -> float:
    """Poll until `check()` is truthy; return when it was (monotonic), or fail."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return time.monotonic()
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {check.__doc__ or check}")
        time.sleep(pause)


@contextlib.contextmanager
def echo_container(docker_client, name: str):
    """`docker run` of the echo server on the default bridge, as a user would; yields its IP."""
    c = docker_client.containers.run("ubuntu", "nc -ll -p 7777 -e /bin/echo-server",
                                     name=name, hostname=name, detach=True)
    try:
        c.reload()
        yield c.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
    finally:
        c.remove(force=True)


def live_processes() -> dict[int, str]:
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                continue
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        found[int(pid)] = cmdline.decode(errors="replace").strip()
    return found


def machine_namespaces() -> dict[str, str]:
    """PID 1's network and mount namespaces; where PID 1 does not let even root read them (a
    non-dumpable init, as in a Firecracker sandbox), this test run's own, which are the
    machine's: pytest runs outside every namespace devnet makes."""
    for pid in (1, os.getpid()):
        try:
            return {kind: os.readlink(f"/proc/{pid}/ns/{kind}") for kind in ("net", "mnt")}
        except PermissionError:
            continue
    raise AssertionError("cannot read this process's own namespaces")


def namespaced_processes() -> list[str]:
    """Every process whose network or mount namespace is not the real machine's (PID 1's),
    named or not: "<pid> <start time> net:[..] mnt:[..] <command line>". A process devnet
    lost track of (the sim VM's power process, a DNS service without its supervisor) holds
    an unnamed namespace that `ip netns list` does not show; it shows here."""
    machine = machine_namespaces()
    # vagrant's session runs inside the libvirt lab (the developer machine): the real
    # machine's processes outside it are no part of it (test.e2e names its namespaces)
    outside = set(os.environ.get("DEVNET_E2E_OUTSIDE_NS", "").split())
    found = []
    for pid, command in live_processes().items():
        try:
            ns = {kind: os.readlink(f"/proc/{pid}/ns/{kind}") for kind in machine}
            start = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
        except OSError:
            continue
        if ns != machine and not outside & set(ns.values()):
            found.append(f"{pid} {start} {ns['net']} {ns['mnt']} {command}")
    return sorted(found)


def snapshot(marks: tuple[str, ...]) -> dict:
    """What devnet must leave as it found it on the real machine, and what it must not leave."""
    procs = {pid: c for pid, c in live_processes().items() if any(m in c for m in marks)}
    mounts = sorted(line.split()[4] for line in Path("/proc/self/mountinfo").read_text()
                    .splitlines())
    iptables = [line for line in sh("iptables-save").splitlines()
                if not line.startswith(("#", ":"))]
    return {
        "netns": sorted(sh("ip", "netns", "list").split()),
        "links": sorted(line.split()[0] for line in sh("ip", "-br", "link").splitlines()),
        "routes": sorted(sh("ip", "route", "show", "table", "all").splitlines()),
        "iptables": iptables,
        "resolv.conf": Path("/etc/resolv.conf").read_text(),
        "mounts": mounts,
        "processes": sorted(procs.values()),
        "namespaced processes": namespaced_processes(),
        "paths": sorted(p for p in ("/var/lib/devnet", "/etc/docker/key.json", "/run/docker",
                                    "/run/containerd", "/etc/netns") if os.path.exists(p)),
    }


def assert_same(before: dict, after: dict) -> None:
    """`after` is the machine as `before` found it; one assert per kind, so a failure names it.
    Namespaced processes compare as a set difference: the machine's own (in `before`) may end
    meanwhile, none may be new."""
    for key in before:
        if key == "namespaced processes":
            new = sorted(set(after[key]) - set(before[key]))
            assert not new, f"left behind, in namespaces other than the machine's: {new}"
        else:
            gone = [x for x in before[key] if x not in after[key]] if isinstance(
                before[key], list) else before[key]
            new = [x for x in after[key] if x not in before[key]] if isinstance(
                after[key], list) else after[key]
            assert after[key] == before[key], f"{key}: new {new}, gone {gone}"


@contextlib.contextmanager
def brought_up(cli, settings, **kwargs):
    """`invoke up` from nothing, and its output; always taken down, whatever the tests did
    (the VM destroyed directly when `invoke down` fails)."""
    try:
        yield cli("up", **kwargs)
    finally:
        out = cli("down", check=False)
        if out.returncode != 0:
            print(f"invoke down failed, destroying the VM directly:\n{out.stdout}{out.stderr}")
            providers.get(settings).destroy()
