"""dns.*: devnet's DNS service in the VM (SkyDock + SkyDNS in one), and the host resolver."""

from __future__ import annotations

from invoke import Collection
from invoke.exceptions import Exit

from devnet.dns import control
from devnet.host import resolver_health
from devnet.steps.dns import DnsStart
from devnet.steps.resolver import DnsResolver
from devnet.tasks.common import devnet_task, step_task

start = step_task(DnsStart)
resolver = step_task(DnsResolver)


@devnet_task
def stop(c, dn):
    """Stop the DNS service in the VM (`invoke dns.start` or `up` starts it again)."""
    said = resolver_health.take_out(dn, "its DNS is stopping")
    if said:
        print(f"done   dns.resolver   {said}")
    print(f"done   dns.stop       {control.stop(dn)}")
    dn.journal.forget("dns.start")


@devnet_task
def status(c, dn):
    """The DNS service: records, uptime, upstream, last Docker event, query counters."""
    st = control.read_status(dn)
    for line in control.describe_status(st):
        print(line)
    if not st:
        raise Exit("devnet: the DNS service is not running\n  next: invoke dns.start", code=3)


@devnet_task(help={"lines": "how many of the last lines to show (default 50)"})
def logs(c, dn, lines=50):
    """The DNS service's log in the VM: registrations, removals, resyncs, errors."""
    print(dn.vm_run("sh", "-c", control.logs_command(dn, lines), warn=True).stdout, end="")


@devnet_task
def export(c, dn):
    """Print the records as etcdctl put lines and a Corefile block, for a team's CoreDNS.

    The keys follow the SkyDNS/CoreDNS etcd layout (CoreDNS's etcd plugin reads them)."""
    argv = [*control.python_argv(dn, "devnet.dns.export"), *control.service_args(dn.settings)]
    out = dn.vm_run(*argv, warn=True)
    if not out.ok:
        raise Exit(f"devnet: dns.export failed in the VM: {out.stderr.strip()[-300:]}\n"
                   "  next: invoke status   (is the VM up? is etcd reachable from it?)", code=1)
    print(out.stdout, end="")


ns = Collection("dns", start, stop, status, logs, resolver, export)
