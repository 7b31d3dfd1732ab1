"""dns.start over SSH: the supervised process, or a systemd unit where the VM has systemd."""

import json
import time
from dataclasses import replace

from invoke import Result

from devnet.core import Devnet
from devnet.dns import control
from devnet.steps import dns as dns_steps
from devnet.steps.dns import DnsStart
from tests.unit.conftest import SUPERVISOR_ALIVE, devnet_with_vm


def test_service_args_follow_the_settings(settings):
    args = control.service_args(settings)
    assert args[:2] == ["--listen", "172.17.42.1:53"]
    assert ["--allow", "172.16.0.0/16"] == args[args.index("--allow"):args.index("--allow") + 2]
    assert "--reverse" in args and "172.17.0.0/16" in args


def test_a_vm_with_systemd_gets_a_unit(settings, monkeypatch):
    dn = devnet_with_vm(settings, patterns={SUPERVISOR_ALIVE: Result(exited=1)}, **{
        "cat /run/devnet-dns/status.json": Result("", exited=1),
        "docker inspect -f '{{.Id}}' devnet-dns": Result(exited=1),
        "mkdir -p /run/devnet-dns": Result(""),
        "test -d /run/systemd/system": Result(""),
        "systemctl daemon-reload": Result(""),
        "systemctl enable --now devnet-dns.service": Result(""),
    })
    written = {}
    monkeypatch.setattr(dn, "vm_write", lambda path, text: written.update({path: text}))
    out = DnsStart(dn).apply()
    assert out.endswith("as systemd unit devnet-dns.service")
    unit = written["/etc/systemd/system/devnet-dns.service"]
    assert "Restart=always" in unit and "-m devnet.dns.service --listen 172.17.42.1:53" in unit


def test_without_systemd_a_supervised_process(settings):
    supervise = "setsid -f"
    dn = devnet_with_vm(settings, patterns={SUPERVISOR_ALIVE: Result(exited=1)}, **{
        "cat /run/devnet-dns/status.json": Result("", exited=1),
        "docker inspect -f '{{.Id}}' devnet-dns": Result(exited=1),
        "mkdir -p /run/devnet-dns": Result(""),
        "test -d /run/systemd/system": Result(exited=1),
    })
    calls = []
    real_run = dn._conn.run

    def run(command, **kw):
        calls.append(command)
        if supervise in command:
            return Result("")
        return real_run(command, **kw)

    dn._conn._set(run=run)
    assert "supervised process" in DnsStart(dn).apply()
    started = [c for c in calls if supervise in c][0]
    assert "devnet.dns.supervise --pidfile /run/devnet-dns/supervisor.pid" in started
    assert "devnet.dns.service --listen 172.17.42.1:53" in started


def test_status_lines_for_people():
    lines = control.describe_status({
        "domain": "docker", "listen": "172.17.42.1:53", "pid": 7, "uptime": 12.3,
        "containers": 2, "records": 11, "docker_connected": True, "resyncs": 1,
        "last_event": "22:29:10 container start 8667f2a4b51e", "upstream": ["192.0.2.53"],
        "upstream_error": "", "queries": {"fast": 5, "slow": 14}})
    assert lines[0] == "serving .docker on 172.17.42.1:53 (udp+tcp), pid 7, up 12s"
    assert "2 container(s), 11 record(s); docker connected" in lines[1]
    assert control.describe_status(None) == ["not running"]


def test_inside_the_vm_verify_does_not_probe_from_a_host_it_is_not(settings, monkeypatch):
    """Provider guest (the Vagrantfile's provisioning): "the host" is the VM itself, which
    has no dig; the developer's machine probes on its own `invoke up`."""
    dn = Devnet(replace(settings, provider="guest"), echo=lambda _: None)
    monkeypatch.setattr(dns_steps, "running", lambda dn: {"pid": 1})
    ran = []
    monkeypatch.setattr(dn.provider.local, "run", lambda *a, **k: ran.append(a))
    DnsStart(dn).verify()
    assert ran == []


def systemd_service(settings, vm_now: float, written: float, args=None):
    """A Devnet whose VM's clock says `vm_now` and whose service wrote its status at
    `written` (by the VM's clock), run by a systemd unit that is active."""
    status = {"args": args or control.service_args(settings), "written": written}
    return devnet_with_vm(settings, patterns={SUPERVISOR_ALIVE: Result(exited=1)}, **{
        control.STATUS_AND_CLOCK: Result(f"{int(vm_now)}\n{json.dumps(status)}"),
        "test -d /run/systemd/system": Result(""),
        "systemctl is-active --quiet devnet-dns.service": Result(""),
    }), status


def test_a_fresh_status_by_the_vms_clock_is_running_whatever_the_hosts_clock_says(settings):
    """A VM's clock drifts (a laptop's sleep): the status is aged by the VM's own clock,
    read in the same command, never by this machine's."""
    vm_now = time.time() - 3600
    dn, status = systemd_service(settings, vm_now, written=vm_now - 1)
    assert control.running(dn) == status


def test_the_checks_after_the_read_do_not_age_the_status(settings, monkeypatch):
    """In a one-CPU emulated guest each command takes a second or more: the age is taken
    when the status is read, not after the liveness checks (the Vagrant lab's failure)."""
    now = time.time()
    dn, status = systemd_service(settings, now, written=now - 2)
    real = control.service_alive
    monkeypatch.setattr(control, "service_alive",
                        lambda dn: (monkeypatch.setattr(time, "time", lambda: now + 30),
                                    real(dn))[1])
    assert control.running(dn) == status


def test_a_stale_status_or_other_settings_are_not_running(settings):
    now = time.time()
    assert control.running(systemd_service(settings, now, written=now - 6)[0]) is None
    other = [*control.service_args(settings), "--upstream", "192.0.2.1"]
    assert control.running(systemd_service(settings, now, now, args=other)[0]) is None
