"""dns.start over SSH: the supervised process, or a systemd unit where the VM has systemd."""

from invoke import Result

from devnet.dns import control
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
