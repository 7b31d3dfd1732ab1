"""Steps that create and start the VM, and the ones run inside it over SSH."""

from __future__ import annotations

from devnet.errors import DevnetError
from devnet.steps.base import Step
from devnet.system import cmd, wait_until

# In-VM changes (an address, an iptables rule) do not survive the VM's power-off.
VM_DOWN = "VM is not running: the change went with it"


class VmInit(Step):
    name = "vm.init"
    up_order = 10
    summary = "create the VM with a host-only adapter (boot2docker init --dhcp=false --hostip)"

    def check(self):
        p = self.dn.provider
        return f"VM {p.name}/{self.dn.settings.instance} exists" if p.exists() else None

    def plan(self):
        return self.dn.provider.plan_create()

    def apply(self):
        self.dn.provider.preflight()
        self.dn.journal.record(self.name)
        return "created " + self.dn.provider.create()

    def verify(self):
        if not self.dn.provider.exists():
            raise DevnetError("the VM was created but cannot be found", "invoke status")

    def describe_undo(self, args):
        return "destroy the VM: its namespaces, daemons, disk and keys"

    def undo(self, args):
        return self.dn.provider.destroy()


class VmUp(Step):
    name = "vm.up"
    up_order = 20
    summary = "boot the VM and wait for SSH and Docker (boot2docker up)"

    def check(self):
        return "VM is running, SSH and Docker answer" if self.dn.provider.running() else None

    def plan(self):
        return self.dn.provider.plan_start()

    def apply(self):
        self.dn.journal.record(self.name)
        return self.dn.provider.start()

    def verify(self):
        if not self.dn.provider.running():
            raise DevnetError("the VM started but a part of it is down", "invoke status")

    def describe_undo(self, args):
        return "power the VM off"

    def undo(self, args):
        self.dn.vm_going_away()
        return self.dn.provider.stop()


class VmHostOnly(Step):
    name = "vm.hostonly"
    up_order = 30
    reach = ("route", "tunnel")  # not native: OrbStack's VM has no SSH, its routes are its own
    inside_vm = True
    summary = "give the VM's host-only interface its address (ifconfig eth1 172.16.0.11)"

    @property
    def iface(self):
        return self.dn.settings.hostonly.vm_iface

    @property
    def cidr(self):
        return self.dn.settings.hostonly.vm_cidr

    def _state(self) -> tuple[bool, bool]:
        # One-line text output, not `ip -j`: boot2docker's busybox `ip` has no JSON.
        out = self.dn.vm_run("ip", "-o", "addr", "show", "dev", self.iface, warn=True)
        if out.failed:
            raise DevnetError(
                f"the VM has no interface {self.iface}: {out.stderr.strip()}",
                "check devnet.hostonly.vm_iface, or the VM's host-only adapter",
            )
        return interface_state(self.dn.vm_run("ip", "-o", "link", "show", "dev", self.iface)
                               .stdout + out.stdout, self.cidr)

    def check(self):
        p = self.dn.provider
        if not p.has_vm:
            return "no VM: no host-only network"
        if p.tunnels():
            return f"no host-only network: tunnel.link gives the VM {self.dn.gateway}"
        if p.assigns_vm_address:
            return f"{p.name} gives the VM its host-only address ({self.dn.gateway})"
        has_addr, up = self._state()
        return f"{self.iface} has {self.cidr} and is up" if has_addr and up else None

    def plan(self):
        return [f"ip addr add {self.cidr} dev {self.iface}; ip link set {self.iface} up (in VM)"]

    def apply(self):
        has_addr, _ = self._state()
        self.dn.journal.record(self.name, iface=self.iface, cidr=self.cidr)
        if not has_addr:
            self.dn.vm_run("ip", "addr", "add", self.cidr, "dev", self.iface)
        self.dn.vm_run("ip", "link", "set", self.iface, "up")
        return f"{self.iface} = {self.cidr}, up"

    def verify(self):
        host, ip = self.dn.host, self.dn.gateway
        ping = cmd(*self.dn.os.ping_argv(ip))  # -W's unit differs: seconds, macOS ms
        wait_until(
            lambda: host.run(ping, hide=True, warn=True).ok,
            10, f"the VM's host-only address {ip} to answer ping from the host",
            "invoke status; check the host side of the host-only network",
        )

    def undo(self, args):
        if not self.dn.provider.running():
            return VM_DOWN
        out = self.dn.vm_run("ip", "addr", "del", args["cidr"], "dev", args["iface"], warn=True)
        return f"removed {args['cidr']} from {args['iface']}" if out.ok else "address was gone"


def has_address(text: str, cidr: str) -> bool:
    """`ip -o addr` lines (iproute2 or busybox) show the IPv4 address `cidr`."""
    return any(f" inet {cidr} " in f"{ln} " for ln in text.splitlines())


def interface_state(text: str, cidr: str) -> tuple[bool, bool]:
    """From `ip -o link` + `ip -o addr` lines: (has the address `cidr`, is admin-up)."""
    flags = text.split("<", 1)[1].split(">", 1)[0].split(",") if "<" in text else []
    return has_address(text, cidr), "UP" in flags


class VmForward(Step):
    """Docker >= 1.13 drops forwarded traffic to containers (FORWARD policy DROP); the
    walk-through's Docker 1.1 did not. DOCKER-USER is the chain Docker keeps for such rules."""

    name = "vm.forward"
    up_order = 40
    reach = ("route", "tunnel")  # not native: OrbStack's VM has no SSH, its routes are its own
    inside_vm = True
    summary = "let the host-only network reach containers (iptables DOCKER-USER accept)"

    def _rule(self, subnet) -> list[str]:
        return ["-s", str(self.dn.settings.hostonly.network), "-d", str(subnet), "-j", "ACCEPT"]

    def _present(self, subnet) -> bool:
        return self.dn.vm_run("iptables", "-w", "-C", "DOCKER-USER", *self._rule(subnet),
                              warn=True).ok

    def _chain(self) -> bool:
        return self.dn.vm_run("iptables", "-w", "-n", "-L", "DOCKER-USER", warn=True).ok

    def check(self):
        if not self.dn.provider.has_vm:
            return "no VM: the host reaches containers on its own bridge"
        if self.dn.provider.tunnels():
            return "tunnel: the helper accepts what comes out of the tunnel (DOCKER-USER)"
        if not self._chain():
            return "no DOCKER-USER chain: this dockerd does not filter forwarded traffic"
        subs = self.dn.settings.docker_subnets
        if all(self._present(s) for s in subs):
            return "DOCKER-USER accepts " + ", ".join(
                f"{self.dn.settings.hostonly.network} -> {s}" for s in subs
            )
        return None

    def plan(self):
        return [f"iptables -w -I DOCKER-USER {' '.join(self._rule(s))} (in VM)"
                for s in self.dn.settings.docker_subnets]

    def apply(self):
        added = []
        for s in self.dn.settings.docker_subnets:
            if not self._present(s):
                self.dn.journal.record(self.name, subnet=str(s))
                self.dn.vm_run("iptables", "-w", "-I", "DOCKER-USER", "1", *self._rule(s))
                added.append(str(s))
        return f"DOCKER-USER accepts {self.dn.settings.hostonly.network} -> {', '.join(added)}"

    def verify(self):
        missing = [str(s) for s in self.dn.settings.docker_subnets if not self._present(s)]
        if missing:
            raise DevnetError(f"DOCKER-USER rule missing after insert for {missing}")

    def undo(self, args):
        if not self.dn.provider.running():
            return VM_DOWN
        if not self._present(args["subnet"]):
            return "rule was gone"
        self.dn.vm_run("iptables", "-w", "-D", "DOCKER-USER", *self._rule(args["subnet"]))
        return f"removed DOCKER-USER accept -> {args['subnet']}"
