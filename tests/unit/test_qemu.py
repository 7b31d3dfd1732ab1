"""The qemu provider without QEMU: its command line, the KVM-or-TCG choice, QMP, the taps'
commands and its endpoints (booting it is the manual/e2e run)."""

import json
import socket
import threading
from pathlib import Path

import pytest
from invoke import MockContext, Result

from devnet import config
from devnet.errors import DevnetError
from devnet.providers.qemu import boot as qemu_boot
from devnet.providers.qemu import net as qemu_net
from devnet.providers.qemu.provider import QemuProvider


def argv(**over):
    kw = dict(name="devnet-q1", kernel=Path("/img/vmlinuz"), initrd=Path("/img/initrd.img"),
              disk=Path("/s/disk.qcow2"), code_dir=Path("/src"), seed_dir=Path("/s/seed"),
              console=Path("/s/console.log"), qmp=Path("/s/qmp.sock"), ssh_port=40022,
              tap_fds=(5, 6), accel="tcg")
    return qemu_boot.qemu_argv(**{**kw, **over})


def opt(args, flag):
    return [args[i + 1] for i, a in enumerate(args) if a == flag]


def test_user_net_is_restricted_and_forwards_only_ssh_on_loopback():
    (nat,) = [n for n in opt(argv(), "-netdev") if n.startswith("user,")]
    assert nat == "user,id=nat,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22"


def test_taps_come_as_fds_and_nics_sit_in_fixed_slots():
    args = argv()
    assert "tap,id=hostonly,fd=5" in opt(args, "-netdev")
    assert "tap,id=uplink,fd=6" in opt(args, "-netdev")
    nics = [d for d in opt(args, "-device") if d.startswith("virtio-net-pci")]
    assert [n.split("addr=")[1].split(",")[0] for n in nics] == ["0x3", "0x4", "0x5"]
    assert [n.split("netdev=")[1].split(",")[0] for n in nics] == ["nat", "hostonly", "uplink"]


def test_boot_from_the_images_kernel_with_shares_read_only():
    args = argv()
    assert opt(args, "-kernel") == ["/img/vmlinuz"] and opt(args, "-initrd") == ["/img/initrd.img"]
    assert "root=/dev/vda" in opt(args, "-append")[0]
    assert all("readonly=on" in f for f in opt(args, "-fsdev"))
    assert opt(args, "-qmp") == ["unix:/s/qmp.sock,server=on,wait=off"]
    assert opt(args, "-serial") == ["file:/s/console.log"]


def test_accel_kvm_or_tcg():
    kvm = argv(accel="kvm")
    assert opt(kvm, "-accel") == ["kvm"] and opt(kvm, "-cpu") == ["host"]
    assert opt(argv(), "-accel") == ["tcg,thread=multi"] and not opt(argv(), "-cpu")


def test_probe_runs_kvm_on_the_images_kernel_without_a_disk():
    args = qemu_boot.probe_argv(Path("/img/vmlinuz"), "host")
    assert opt(args, "-accel") == ["kvm"] and opt(args, "-cpu") == ["host"]
    assert "-no-reboot" in args and "-drive" not in args


@pytest.fixture
def kvm_usable(monkeypatch):
    monkeypatch.setattr(qemu_boot.os, "access", lambda path, mode: True)
    monkeypatch.setattr(qemu_boot, "qemu_version", lambda: "QEMU emulator version 7.2.22")


def test_forced_accel_never_probes(monkeypatch, tmp_path):
    monkeypatch.setattr(qemu_boot, "probe_once", lambda *a: pytest.fail("probed"))
    assert qemu_boot.choose_accel(tmp_path / "k", tmp_path / "c.json", "tcg")[0] == "tcg"


def test_failed_probe_falls_back_to_tcg_and_is_cached(monkeypatch, tmp_path, kvm_usable):
    calls = []

    def probe(kernel, cpu):
        calls.append(cpu)
        return False, "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69"

    monkeypatch.setattr(qemu_boot, "probe_once", probe)
    cache = tmp_path / "kvm-probe.json"
    accel, why = qemu_boot.choose_accel(tmp_path / "vmlinuz", cache)
    assert accel == "tcg" and "MSR 0x10a" in why
    accel, why = qemu_boot.choose_accel(tmp_path / "vmlinuz", cache)
    assert accel == "tcg" and why.endswith("(cached probe)") and calls == ["host"]
    # Another guest kernel (a new image) is probed again.
    monkeypatch.setattr(qemu_boot, "probe_once", lambda k, c: (True, "the guest kernel booted"))
    assert qemu_boot.choose_accel(tmp_path / "vmlinuz-2", cache)[0] == "kvm"
    assert json.loads(cache.read_text())["accel"] == "kvm"


def test_no_dev_kvm_is_tcg_without_a_probe(monkeypatch, tmp_path):
    monkeypatch.setattr(qemu_boot.os, "access", lambda path, mode: False)
    monkeypatch.setattr(qemu_boot, "probe_once", lambda *a: pytest.fail("probed"))
    assert qemu_boot.choose_accel(tmp_path / "k", tmp_path / "c.json") == (
        "tcg", "no usable /dev/kvm")


def test_qmp_negotiates_then_runs_the_command_skipping_events(tmp_path):
    path = tmp_path / "qmp.sock"
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(str(path))
    srv.listen(1)
    seen = []

    def serve():
        conn, _ = srv.accept()
        f = conn.makefile("rwb")
        f.write(b'{"QMP": {"version": {}}}\n')
        f.flush()
        for reply in (b'{"return": {}}\n', b'{"event": "POWERDOWN"}\n{"return": {}}\n'):
            seen.append(json.loads(f.readline())["execute"])
            f.write(reply)
            f.flush()
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    assert qemu_boot.qmp(path, "system_powerdown") == {"return": {}}
    assert seen == ["qmp_capabilities", "system_powerdown"]
    srv.close()


@pytest.fixture
def provider(tmp_path):
    return QemuProvider(config.load({"instance": "q1", "provider": "qemu",
                                     "state_dir": str(tmp_path / "state")}))


def test_taps_are_made_inside_the_namespaces(provider, monkeypatch):
    monkeypatch.setattr(qemu_net.netns, "exists", lambda ns: True)
    ran = []

    def run(command, **kw):
        ran.append(command)
        return Result(exited=1 if " link show " in command else 0)

    provider.local = MockContext()
    provider.local.run = run
    qemu_net.create(provider)
    assert "ip -n q1-host tuntap add dev q1-ho0 mode tap" in ran
    assert "ip -n q1-host addr add 172.16.0.1/16 dev q1-ho0" in ran
    assert "ip -n q1-up addr add 192.0.2.53/32 dev q1-up0" in ran
    assert all(c.startswith("ip -n q1-") for c in ran)  # never this machine's namespace


def test_endpoints(provider):
    assert provider.vm_python() == ("/opt/devnet/bin/python", "/devnet")
    assert provider.docker_url() == f"unix://{provider.vmroot}/docker.sock"
    assert provider.hostonly_link() == "q1-ho0" and provider.host_ns == "q1-host"
    assert not provider.exists() and not provider.running()
    assert provider.stop() == "already stopped"


def test_halt_keeps_the_upstream_dns_as_the_sims_does(provider):
    """The upstream DNS is the simulated outside world's (the host asks it too), not the VM's:
    `vm.halt` leaves it running, as the sim's halt does; only destroy stops it."""
    provider.root.mkdir(parents=True)
    world = provider.upstream.spawn(["sleep", "60"])
    try:
        assert provider.stop() == "already stopped"  # no VM, no forward: nothing of the VM's
        assert provider.upstream.alive() and world.poll() is None
    finally:
        provider.upstream.stop(5)
        world.wait()


def test_plan_says_when_the_image_must_be_built(provider, tmp_path):
    provider.cache_root = tmp_path / "empty-cache"
    assert provider.plan_create()[0].startswith("build the VM image")


def test_docker_api_is_a_unix_socket_forwarded_over_ssh_never_tcp(provider):
    provider.meta_path.parent.mkdir(parents=True)
    provider.meta_path.write_text('{"ssh_port": 40022}')
    args = qemu_boot.forward_argv(provider)
    assert opt(args, "-L") == [f"{provider.docker_sock}:/var/run/docker.sock"]
    assert opt(args, "-p") == ["40022"] and args[-1] == "root@127.0.0.1"
    assert "StrictHostKeyChecking=yes" in opt(args, "-o")


# -- QEMU sandboxed (no boot here: the command line and the user choice) -------------------

def test_qemu_runs_under_its_seccomp_sandbox():
    (sandbox,) = opt(argv(), "-sandbox")
    assert sandbox.split(",") == ["on", "obsolete=deny", "spawn=deny", "resourcecontrol=deny",
                                  "elevateprivileges=deny"]
    assert opt(argv(), "-runas") == []
    assert opt(qemu_boot.probe_argv(Path("/img/vmlinuz"), "host"), "-sandbox") == [sandbox]


def test_runas_drops_root_and_keeps_only_the_setuid_it_needs_for_that():
    args = argv(runas="devnet-qemu")
    assert opt(args, "-runas") == ["devnet-qemu"]
    # QEMU 7.2 with -runas and elevateprivileges=deny dies of SIGSYS at its own setuid.
    assert opt(args, "-sandbox") == ["on,obsolete=deny,spawn=deny,resourcecontrol=deny"]


def test_runas_auto_uses_devnet_qemu_only_where_it_exists_and_can_read_the_code(
        monkeypatch, tmp_path):
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "ssh_host_ed25519_key").write_text("k")
    entry = type("P", (), {"pw_uid": 999, "pw_gid": 998})
    users = {}
    monkeypatch.setattr(qemu_boot.pwd, "getpwnam", lambda u: users[u])
    readable = {"rc": 0}
    monkeypatch.setattr(qemu_boot.subprocess, "run",
                        lambda argv, **kw: type("R", (), {"returncode": readable["rc"]}))
    chowned = []
    monkeypatch.setattr(qemu_boot.os, "chown", lambda p, u, g: chowned.append((p.name, u, g)))

    assert qemu_boot.runas_user("auto", tmp_path, seed) == (
        None, "runs as root: no devnet-qemu user (useradd --system devnet-qemu)")
    assert qemu_boot.runas_user("none", tmp_path, seed)[0] is None
    with pytest.raises(DevnetError, match="devnet.qemu.runas: there is no user 'qemu'"):
        qemu_boot.runas_user("qemu", tmp_path, seed)

    users["devnet-qemu"] = entry
    assert qemu_boot.runas_user("auto", tmp_path, seed) == ("devnet-qemu", "runs as devnet-qemu")
    assert sorted(chowned) == [("seed", 999, 998), ("ssh_host_ed25519_key", 999, 998)]
    readable["rc"] = 1  # a checkout under /root: the VM could not read devnet's code
    assert "cannot read devnet's code" in qemu_boot.runas_user("auto", tmp_path, seed)[1]
