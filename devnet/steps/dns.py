"""dns.start: devnet's DNS service in the VM (the service's control: devnet.dns.control)."""

from __future__ import annotations

from devnet.dns import container
from devnet.dns.control import (
    LOG,
    PIDFILE,
    RUN_DIR,
    UNIT,
    UNIT_NAME,
    UNIT_PATH,
    in_container,
    python_argv,
    read_status,
    running,
    service_args,
    stop,
    supervisor_alive,
    systemd,
)
from devnet.errors import DevnetError
from devnet.host import resolver_health
from devnet.steps.base import Step
from devnet.system import cmd, wait_until


class DnsStart(Step):
    name = "dns.start"
    up_order = 70
    reach = ("route", "tunnel")  # not native: OrbStack's VM has no SSH, its routes are its own
    inside_vm = True
    summary = "start devnet's DNS service in the VM (registrar + server on the bridge IP)"

    def check(self):
        if self.dn.provider.tunnels():
            return "tunnel: no SSH into the VM, tunnel.dns runs the service through Docker"
        st = running(self.dn)
        if st:
            return (f"DNS serving {st['domain']} on {st['listen']}, {st['containers']} "
                    f"container(s), up {st['uptime']:.0f}s")
        return None

    def plan(self):
        s = self.dn.settings
        return [f"run the DNS service for .{s.dns.domain} on {s.dns_ip}:53 in the VM, supervised"]

    def apply(self):
        dn = self.dn
        dn.journal.record(self.name)
        if read_status(dn) or supervisor_alive(dn) or container.exists(dn):
            stop(dn)  # settings changed: start again with the new ones
        dn.vm_run("mkdir", "-p", RUN_DIR)
        if in_container(dn):
            tag = container.ensure_image(dn.provider.docker_client(), dn.settings.dns.image)
            resolved = dn.vm_run("test", "-d", container.RESOLVED_DIR, warn=True).ok
            dn.vm_run(*container.run_argv(tag, service_args(dn.settings), RUN_DIR, resolved))
            return (f"DNS for .{dn.settings.dns.domain} on {dn.settings.dns_ip}:53 as container "
                    f"{container.NAME} ({tag})")
        service = [*python_argv(dn, "devnet.dns.service"), *service_args(dn.settings)]
        if systemd(dn):
            dn.vm_write(UNIT_PATH, UNIT.format(domain=dn.settings.dns.domain,
                                               command=cmd(*service)))
            dn.vm_run("systemctl", "daemon-reload")
            dn.vm_run("systemctl", "enable", "--now", UNIT_NAME)
            how = f"systemd unit {UNIT_NAME}"
        else:
            supervise = [*python_argv(dn, "devnet.dns.supervise"), "--pidfile", PIDFILE,
                         "--log", LOG, "--", *service]
            dn.vm_run("sh", "-c", f"setsid -f {cmd(*supervise)} </dev/null >>{LOG} 2>&1")
            how = f"supervised process (log {LOG})"
        return f"DNS for .{dn.settings.dns.domain} on {dn.settings.dns_ip}:53 as {how}"

    def verify(self):
        ip, dn = self.dn.settings.dns_ip, self.dn
        # A slow VM (QEMU without KVM) takes ~13 s to start Python and the docker SDK.
        wait_until(lambda: running(dn), max(10, dn.settings.start_timeout),
                   "the DNS service's status",
                   f"invoke dns.logs   (or invoke vm.ssh -c 'cat {LOG}')")
        if dn.provider.runs_in_vm:
            return  # the developer's machine probes on its own `invoke up` (and doctor)
        probe = cmd("dig", "+short", "+time=1", "+tries=3", f"@{ip}",
                    f"ns.{dn.settings.dns.domain}")
        out = dn.host.run(probe, hide=True, warn=True)
        if out.stdout.strip() != ip:
            got = out.stdout.strip() or out.stderr.strip() or "nothing"
            raise DevnetError(f"the host got no answer from {ip}:53 ({got})",
                              "invoke status   (is the route there? is the VM's INPUT open?)")
        resolver_health.put_back(dn)  # dns.stop or vm.halt took the host's entry out

    def describe_undo(self, args):
        return "stop the DNS service in the VM"

    def undo(self, args):
        if not self.dn.provider.running():
            return "VM is not running: the DNS service went with it"
        return stop(self.dn)
