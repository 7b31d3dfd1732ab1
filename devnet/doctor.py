"""invoke doctor: check every hop from the developer's machine to a container's name, in order,
and stop at the first that fails, naming it and the command that fixes it."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import asdict, dataclass

from devnet.dns import etcd_status
from devnet.dns.control import read_status
from devnet.errors import DevnetError, HopFailed
from devnet.steps import native_reach
from devnet.steps.docker import DockerConfigure
from devnet.steps.net import check_overlaps
from devnet.system import cmd
from devnet.tunnel.doctor_hops import TunnelHops
from devnet.vpn.fix import firewall_problems

CAUSES = ("no VPN rule blocks", "no subnet overlap")


@dataclass
class Hop:
    name: str
    status: str  # ok | FAIL | skip | not checked
    detail: str
    fix: str = ""


def _running_container(dn) -> dict | None:
    """A running container on a routed subnet: its name, IP and an exposed TCP port."""
    client = dn.provider.docker_client(timeout=5)
    try:
        for c in client.containers.list():
            for net in c.attrs["NetworkSettings"]["Networks"].values():
                ip = net.get("IPAddress")
                if ip and any(ipaddress.ip_address(ip) in s for s in dn.settings.docker_subnets):
                    ports = [int(p.split("/")[0]) for p in c.attrs["Config"].get(
                        "ExposedPorts") or {} if p.endswith("/tcp")]
                    return {"name": c.name, "ip": ip, "port": ports[0] if ports else None}
    finally:
        client.close()
    return None


class Doctor:
    def __init__(self, dn):
        self.dn = dn
        self.s = dn.settings
        self.container: dict | None = None

    def hops(self) -> list[tuple[str, Callable[[], str], str]]:
        s = self.s
        # Through the tunnel, its hops take the host-only link's place, its helper holds the
        # VM's forward rule, and the DNS service is a container (tunnel.dns).
        tunnel = self.dn.provider.tunnels()
        return [
            ("VM running", self.vm, "invoke vm.up"),
            *(TunnelHops(self.dn).hops() if tunnel else
              [("host-only IP answers", self.hostonly, "invoke vm.hostonly")]),
            ("route present and chosen", self.route, "invoke net.route   (or invoke vpn.fix)"),
            ("a container answers TCP", self.tcp,
             f"invoke {'tunnel.helper' if tunnel else 'vm.forward'}   (or invoke vpn.fix)"),
            # after a VM restart: did devnet's settings survive where this VM keeps them?
            ("dockerd has devnet's bip and dns", self.dockerd, self.dn.provider.dockerd_fix),
            (f"DNS answers on {s.dns_ip}", self.dns,
             f"invoke {'tunnel.dns' if tunnel else 'dns.start'}"),
            ("a record for a running container", self.record, "invoke dns.logs; invoke dns.start"),
            *([(etcd_status.DOCTOR_HOP, self.etcd, etcd_status.DOCTOR_FIX)]
              if s.dns.store == "etcd" else []),
            (f"host resolver sends .{s.dns.domain} to devnet", self.resolver,
             "invoke dns.resolver   (or invoke vpn.fix)"),
            ("no VPN rule blocks", self.firewall, "invoke vpn.fix"),
            ("no subnet overlap", self.overlap,
             "choose free ranges: devnet.docker.subnets, devnet.hostonly.network"),
        ]

    def skipped(self) -> dict[str, str]:
        """The hops this provider has nothing to check for, each with why (known before any
        command runs: the provider's kind says it)."""
        p, why = self.dn.provider, {}
        if not p.has_vm:
            why["host-only IP answers"] = (f"provider {p.name} has no VM, so no host-only "
                                           "network")
            why["route present and chosen"] = (f"provider {p.name}: the containers' bridges "
                                                "are this machine's own links, no route")
        if p.tunnels():  # the engine's settings are its app's; tunnel.dns checks the bridge
            why["dockerd has devnet's bip and dns"] = (
                f"provider {p.name} reached through the tunnel: the VM's engine settings are "
                "its app's own (Docker Desktop: Settings -> Docker Engine)")
        if p.routes_itself():
            why["host-only IP answers"] = (f"provider {p.name} routes to its containers itself "
                                           "(no host-only network)")
            why["dockerd has devnet's bip and dns"] = (f"provider {p.name}: the engine's "
                                                       "settings are its app's own")
            why["no subnet overlap"] = (f"provider {p.name}: the Docker subnets' routes are its "
                                        "own (the route hop probes them)")
        if p.name == "guest":  # doctor run inside the VM: the host's side is the host's
            host_side = "provider guest runs inside the VM; run invoke doctor on the host"
            for name in ("route present and chosen", "no VPN rule blocks",
                         f"host resolver sends .{self.s.dns.domain} to devnet"):
                why[name] = host_side
        return why

    def run(self) -> list[Hop]:
        """Each hop in order until one fails. A network hop that fails is then explained if
        it can be: a VPN rule or an overlap is named as the hop at fault."""
        plan = self.hops()
        skipped = self.skipped()
        done: dict[str, Hop] = {}
        for name, check, fix in plan:
            if name in skipped:
                continue
            hop = self._check(name, check, fix)
            done[name] = hop
            if hop.status != "FAIL":
                continue
            if name not in CAUSES:
                for cname, ccheck, cfix in plan:
                    if cname in CAUSES and cname not in done and cname not in skipped:
                        cause = self._check(cname, ccheck, cfix)
                        if cause.status == "FAIL":
                            done[cname] = cause
                            hop.detail += f" (cause: hop {cname!r})"
                            hop.fix = cfix
                            break
            break
        # a hop skipped for the provider's kind says so even after an earlier failure
        return [done.get(n) or (Hop(n, "skip", f"skipped: {skipped[n]}") if n in skipped
                                else Hop(n, "not checked", "an earlier hop failed"))
                for n, _, _ in plan]

    @staticmethod
    def _check(name, check, fix) -> Hop:
        try:
            detail = check()
            return Hop(name, "skip" if detail.startswith("skipped") else "ok", detail)
        except (DevnetError, OSError, HopFailed) as err:
            text = err.what if isinstance(err, DevnetError) else str(err)
            return Hop(name, "FAIL", text.splitlines()[0], fix)

    def at_fault(self, hops: list[Hop]) -> Hop | None:
        """The hop to name: a cause when one was found, else the first failure."""
        failed = [h for h in hops if h.status == "FAIL"]
        causes = [h for h in failed if h.name in CAUSES]
        return (causes or failed or [None])[0]

    # -- the hops ------------------------------------------------------------------------

    def _host(self, *argv) -> str:
        out = self.dn.host.run(cmd(*argv), hide=True, warn=True)
        return out.stdout.strip() if out.ok else ""

    def vm(self) -> str:
        p = self.dn.provider
        if not p.running():
            raise HopFailed("the VM (or its sshd, dockerd) is not running" if p.has_vm
                            else "dockerd on this machine does not answer")
        if not p.has_vm:
            return "no VM: Docker answers on this machine"
        said = "Docker answers" if p.tunnels() else "SSH and Docker answer"
        return f"{p.name} VM up, {said}"  # (a tunnel's VM has no SSH)

    def hostonly(self) -> str:
        ip = self.dn.gateway
        if self.dn.host.run(cmd(*self.dn.os.ping_argv(ip)), hide=True, warn=True).failed:
            raise HopFailed(f"{ip} does not answer ping from the host")
        return f"{ip} answers ping"

    def route(self) -> str:
        if self.dn.provider.routes_itself():  # the engine's route: probed, never devnet's
            return native_reach.check(self.dn)
        # through the tunnel, the gateway is only reached over the tunnel's link
        link = self.dn.provider.hostonly_link() if self.dn.provider.tunnels() \
            else None
        for sub in self.s.docker_subnets:
            probe = str(next(sub.hosts()))
            chosen = self.dn.os.route_get(self.dn.host, probe)
            if chosen.get("gateway") != self.dn.gateway:
                via = chosen.get("gateway") or chosen.get("dev")
                raise HopFailed(f"{probe} goes via {via}, not {self.dn.gateway}")
            if link and chosen.get("dev") not in (None, link):  # the gateway on another link
                raise HopFailed(f"{probe} goes out {chosen['dev']}, not {link}")
        return f"{', '.join(map(str, self.s.docker_subnets))} via {self.dn.gateway}"

    def tcp(self) -> str:
        self.container = _running_container(self.dn)
        c = self.container
        if not c or not c["port"]:
            return "skipped: no running container exposes a TCP port"
        if not self._host("sh", "-c", f"nc -z -w2 {c['ip']} {c['port']} && echo open"):
            raise HopFailed(f"{c['name']} ({c['ip']}:{c['port']}) does not answer TCP")
        return f"{c['name']} {c['ip']}:{c['port']} answers"

    def dockerd(self) -> str:
        step = DockerConfigure(self.dn)
        done = step.check()
        if not done:
            raise HopFailed(f"{step.store().where} in the VM does not give dockerd --bip "
                            f"{self.s.bip} --dns {self.s.dns_ip}, or docker0 does not have it")
        return done

    def dns(self) -> str:
        name = f"ns.{self.s.dns.domain}"
        got = self._host("dig", "+short", "+time=1", "+tries=2", f"@{self.s.dns_ip}", name)
        if got != self.s.dns_ip:
            raise HopFailed(f"no answer from {self.s.dns_ip}:53 for {name}")
        return f"{self.s.dns_ip}:53 answers"

    def record(self) -> str:
        c = self.container or _running_container(self.dn)
        if not c:
            return "skipped: no running container"
        name = f"{c['name']}.{self.s.dns.domain}".lower()
        got = self._host("dig", "+short", "+time=1", "+tries=2", f"@{self.s.dns_ip}", name)
        if c["ip"] not in got.split():
            raise HopFailed(f"{name} has no record of {c['ip']}")
        return f"{name} -> {c['ip']}"

    def etcd(self) -> str:
        try:
            return etcd_status.doctor_check(read_status(self.dn))
        except etcd_status.ViewProblem as err:
            raise HopFailed(str(err)) from err

    def resolver(self) -> str:
        name = f"ns.{self.s.dns.domain}"
        argv = self.dn.os.lookup_argv(name)  # getent on Linux, dscacheutil on macOS
        if self.s.dns_ip not in self.dn.os.parse_lookup(self._host(*argv)):
            raise HopFailed(f"the host's resolver does not answer {name} with "
                            f"{self.s.dns_ip}")
        return f"{' '.join(argv)} -> {self.s.dns_ip}"

    def firewall(self) -> str:
        problems = [p for p in firewall_problems(self.dn) if p.kind != "unexplained"]
        if problems:
            raise HopFailed(problems[0].text)
        return "no firewall rule drops devnet's traffic"

    def overlap(self) -> str:
        check_overlaps(self.s, self.dn.os.routes(self.dn.host), self.dn.gateway,
                       no_vm=not self.dn.provider.has_vm)
        return "no host route collides with devnet's networks"


def table(hops: list[Hop]) -> str:
    mark = {"ok": "ok", "FAIL": "FAIL", "skip": "skip", "not checked": "-"}
    width = max(len(h.name) for h in hops)
    lines = []
    for i, h in enumerate(hops, 1):
        lines.append(f"{i}. {mark[h.status]:<5} {h.name:<{width}}  {h.detail}")
        if h.fix:
            lines.append(f"   {'':<5} {'':<{width}}  fix: {h.fix}")
    return "\n".join(lines)


def as_json(hops: list[Hop]) -> list[dict]:
    return [asdict(h) for h in hops]
