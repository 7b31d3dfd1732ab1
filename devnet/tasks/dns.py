"""dns.*: devnet's DNS service in the VM (SkyDock + SkyDNS in one), and the host resolver."""

from __future__ import annotations

from invoke import Collection, task
from invoke.exceptions import Exit

from devnet.dns import control
from devnet.host import resolver_health
from devnet.host.resolver import DnsResolver
from devnet.tasks.common import devnet, reports_errors, step_task

start = step_task(control.DnsStart)
resolver = step_task(DnsResolver)


@task
@reports_errors
def stop(c):
    """Stop the DNS service in the VM (`invoke dns.start` or `up` starts it again)."""
    dn = devnet(c)
    said = resolver_health.take_out(dn, "its DNS is stopping")
    if said:
        print(f"done   dns.resolver   {said}")
    print(f"done   dns.stop       {control.stop(dn)}")
    dn.journal.forget("dns.start")
    dn.close()


@task
@reports_errors
def status(c):
    """The DNS service: records, uptime, upstream, last Docker event, query counters."""
    dn = devnet(c)
    st = control.read_status(dn)
    for line in control.describe_status(st):
        print(line)
    dn.close()
    if not st:
        raise Exit("devnet: the DNS service is not running\n  next: invoke dns.start", code=3)


@task(help={"lines": "how many of the last lines to show (default 50)"})
@reports_errors
def logs(c, lines=50):
    """The DNS service's log in the VM: registrations, removals, resyncs, errors."""
    dn = devnet(c)
    print(dn.vm_run("sh", "-c", control.logs_command(dn, lines), warn=True).stdout, end="")
    dn.close()


@task
@reports_errors
def export(c):
    """Print the records in the SkyDNS/CoreDNS etcd layout (etcdctl put lines) and a Corefile
    block, so a team's CoreDNS can serve devnet's names."""
    dn = devnet(c)
    try:
        argv = [*control.python_argv(dn, "devnet.dns.export"), *control.service_args(dn.settings)]
        out = dn.vm_run(*argv, warn=True)
    finally:
        dn.close()
    if not out.ok:
        raise Exit(f"devnet: dns.export failed in the VM: {out.stderr.strip()[-300:]}\n"
                   "  next: invoke status   (is the VM up? is etcd reachable from it?)", code=1)
    print(out.stdout, end="")


ns = Collection("dns", start, stop, status, logs, resolver, export)
