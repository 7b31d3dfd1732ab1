"""How the qemu provider boots its VM: the command line, the KVM-or-TCG choice, and QMP.

KVM is used only when a probe shows a KVM guest really boots: on nested-virtualisation hosts
/dev/kvm can open fine while the guest dies ("failed to set MSR 0x10a" with -cpu host) or
never prints a line. The probe boots the image's kernel without a root disk and waits for its
first console line; the answer is cached per host kernel, QEMU and guest kernel.

QEMU runs sandboxed: its seccomp filter (`-sandbox`) denies obsolete system calls, fork/exec
and scheduler/affinity changes, and set*uid unless `-runas` needs it once, at start-up, to
drop root for an unprivileged user (devnet.qemu.runas: auto = the system user devnet-qemu
where it exists and can read devnet's code; none; or a user's name). QEMU opens the disk,
taps, console and QMP socket as root first; afterwards it reads only the 9p shares.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import pwd
import socket
import subprocess
import time
from pathlib import Path

from devnet.errors import DevnetError
from devnet.paths import PROJECT_DIR
from devnet.provider_catalog import OPTIONS
from devnet.providers import socket_forward
from devnet.providers.qemu import guest
from devnet.providers.qemu import net as qemu_net
from devnet.providers.sim.daemons import tail

QEMU = "qemu-system-x86_64"
SANDBOX = "on,obsolete=deny,spawn=deny,resourcecontrol=deny"
RUNAS_USER = "devnet-qemu"  # `useradd --system devnet-qemu` makes -runas happen
PROBE_SECONDS = 12  # a working KVM prints "Linux version" in well under 1 s; TCG in ~1 s
MAC = "52:54:00:de:0e:0{}"


def qemu_argv(*, name: str, kernel: Path, initrd: Path, disk: Path, code_dir: Path,
              seed_dir: Path, console: Path, qmp: Path, ssh_port: int, tap_fds: tuple[int, int],
              accel: str, memory_mb: int = int(OPTIONS["qemu"]["memory_mb"]),
              cpus: int = int(OPTIONS["qemu"]["cpus"]),
              runas: str | None = None) -> list[str]:
    """NICs in fixed PCI slots, so the guest (net.ifnames=0) names them eth0, eth1, eth2:
    user-net NAT with only the SSH forward, host-only tap, uplink tap. romfile= skips iPXE.
    Sandboxed, and as `runas` after start-up when given."""
    ho_fd, up_fd = tap_fds
    accel_args = ["-accel", "kvm", "-cpu", "host"] if accel == "kvm" else \
        ["-accel", "tcg,thread=multi"]
    return [
        QEMU, "-name", name, "-machine", "pc", *accel_args, "-smp", str(cpus),
        "-m", str(memory_mb), "-nodefaults", "-no-user-config", "-display", "none",
        "-kernel", str(kernel), "-initrd", str(initrd), "-append", guest.KERNEL_CMDLINE,
        "-drive", f"file={disk},if=none,id=root,format=qcow2,discard=unmap",
        "-device", "virtio-blk-pci,drive=root,addr=0x8",
        "-netdev", f"user,id=nat,restrict=on,hostfwd=tcp:127.0.0.1:{ssh_port}-:22",
        "-device", f"virtio-net-pci,netdev=nat,mac={MAC.format(1)},addr=0x3,romfile=",
        "-netdev", f"tap,id=hostonly,fd={ho_fd}",
        "-device", f"virtio-net-pci,netdev=hostonly,mac={MAC.format(2)},addr=0x4,romfile=",
        "-netdev", f"tap,id=uplink,fd={up_fd}",
        "-device", f"virtio-net-pci,netdev=uplink,mac={MAC.format(3)},addr=0x5,romfile=",
        "-fsdev", f"local,id=code,path={code_dir},security_model=none,readonly=on",
        "-device", f"virtio-9p-pci,fsdev=code,mount_tag={guest.CODE_TAG},addr=0x6",
        "-fsdev", f"local,id=seed,path={seed_dir},security_model=none,readonly=on",
        "-device", f"virtio-9p-pci,fsdev=seed,mount_tag={guest.SEED_TAG},addr=0x7",
        "-device", "virtio-rng-pci,addr=0x9",  # sshd and Python want entropy at boot
        "-serial", f"file:{console}",
        "-qmp", f"unix:{qmp},server=on,wait=off",
        *sandbox_args(runas),
    ]


def sandbox_args(runas: str | None) -> list[str]:
    """-runas setuid()s after start-up, so set*uid stays allowed only with it (QEMU 7.2 dies
    of SIGSYS otherwise); it can never regain root afterwards."""
    if runas:
        return ["-sandbox", SANDBOX, "-runas", runas]
    return ["-sandbox", f"{SANDBOX},elevateprivileges=deny"]


def runas_user(wanted: str, code_dir: Path, seed_dir: Path) -> tuple[str | None, str]:
    """The unprivileged user QEMU drops to, and why (or why not). It must read devnet's code
    (the 9p share); the seed (this VM's own SSH keys, shared with the guest) becomes its."""
    if wanted == "none":
        return None, "runs as root (devnet.qemu.runas: none)"
    user = RUNAS_USER if wanted == "auto" else wanted
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        if wanted == "auto":
            return None, f"runs as root: no {user} user (useradd --system {user})"
        raise DevnetError(f"devnet.qemu.runas: there is no user {user!r}",
                          f"useradd --system {user}, or set devnet.qemu.runas: none") from None
    probe = ["runuser", "-u", user, "--", "test", "-r", str(code_dir / "devnet/__init__.py")]
    if subprocess.run(probe, capture_output=True).returncode != 0:
        why = f"{user} cannot read devnet's code in {code_dir} (shared with the VM)"
        if wanted == "auto":
            return None, f"runs as root: {why}"
        raise DevnetError(f"devnet.qemu.runas: {why}", "move the checkout where it can read")
    for path in (seed_dir, *seed_dir.rglob("*")):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return user, f"runs as {user}"


def probe_argv(kernel: Path, cpu: str | None) -> list[str]:
    return [QEMU, "-accel", "kvm", *(["-cpu", cpu] if cpu else []), "-m", "256",
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-kernel", str(kernel), "-append", "console=ttyS0 panic=-1", "-serial", "stdio",
            *sandbox_args(None)]


def probe_once(kernel: Path, cpu: str | None) -> tuple[bool, str]:
    """(booted, what was seen): the guest kernel's first console line within PROBE_SECONDS."""
    proc = subprocess.Popen(probe_argv(kernel, cpu), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=PROBE_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    if b"Linux version" in out:
        return True, "the guest kernel booted"
    said = err.decode(errors="replace").strip().splitlines()
    return False, (said[0] if said else f"no console output in {PROBE_SECONDS}s")


def choose_accel(kernel: Path, cache: Path, wanted: str = "auto") -> tuple[str, str]:
    """("kvm" or "tcg", why). `wanted` kvm/tcg forces it; auto probes once and caches."""
    if wanted in ("kvm", "tcg"):
        return wanted, f"devnet.qemu.accel = {wanted}"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg", "no usable /dev/kvm"
    key = hashlib.sha256(f"{platform.release()} {qemu_version()} {kernel.resolve()}".encode()
                         ).hexdigest()[:16]
    try:
        known = json.loads(cache.read_text())
        if known.get("key") == key:
            return known["accel"], known["why"] + " (cached probe)"
    except (OSError, ValueError, KeyError):
        pass
    start = time.monotonic()
    ok, seen = probe_once(kernel, "host")
    accel, why = ("kvm", "KVM probe booted") if ok else ("tcg", f"KVM probe failed: {seen}")
    why += f" in {time.monotonic() - start:.1f}s"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"key": key, "accel": accel, "why": why}) + "\n")
    return accel, why


def qemu_version() -> str:
    out = subprocess.run([QEMU, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.splitlines()[0] if out.stdout else "unknown"


def qmp(path: Path, command: str, timeout: float = 5.0) -> dict:
    """Run one QMP command on QEMU's control socket and return its reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        f = s.makefile("rwb")
        json.loads(f.readline())  # the greeting
        reply = {}
        for cmd in ("qmp_capabilities", command):
            f.write(json.dumps({"execute": cmd}).encode() + b"\n")
            f.flush()
            while True:  # skip asynchronous events until the command's own reply
                reply = json.loads(f.readline())
                if "return" in reply or "error" in reply:
                    break
        return reply


def boot(p) -> str:
    """Start QEMU for provider `p` (the taps opened in their namespaces, handed over as fds);
    returns which accelerator runs and why."""
    image = p.image()
    if not image.ready():
        raise DevnetError(f"the VM's image {image.dir} is gone", "invoke down; invoke up")
    accel, why = choose_accel(image.kernel, p.cache_root / "kvm-probe.json",
                              p.option("accel"))
    p.console.unlink(missing_ok=True)
    p.qmp_sock.unlink(missing_ok=True)
    runas, as_whom = runas_user(p.option("runas"), PROJECT_DIR, p.seed)
    fds = (qemu_net.open_tap(p.host_ns, p.link), qemu_net.open_tap(p.up_ns, p.uplink))
    argv = qemu_argv(
        name=f"devnet-{p.settings.instance}", kernel=image.kernel, initrd=image.initrd,
        disk=p.disk, code_dir=PROJECT_DIR, seed_dir=p.seed, console=p.console, qmp=p.qmp_sock,
        ssh_port=p.ssh_port, tap_fds=fds, accel=accel,
        memory_mb=int(p.option("memory_mb")), cpus=int(p.option("cpus")), runas=runas)
    log_path = p.vmroot / "log/qemu.log"
    try:
        with open(log_path, "ab") as log:
            proc = p.power.spawn(argv, stdout=log, stderr=log, pass_fds=fds,
                                 start_new_session=True)
    finally:
        for fd in fds:
            os.close(fd)  # QEMU holds its own copies
    time.sleep(0.5)
    if proc.poll() is not None:
        raise DevnetError(f"qemu exited at once ({proc.returncode}):\n{tail(log_path, 5)}",
                          "fix the cause above, then invoke vm.up")
    return f"{accel}: {why}; sandboxed, {as_whom}"


def forward_argv(p) -> list[str]:
    """ssh -L: the VM's Docker socket as a unix socket here, never a TCP port."""
    return socket_forward.ssh_argv(p.docker_sock, "root@127.0.0.1", p.ssh_port, (p.key,),
                                   str(p.known_hosts))


def forward_docker(p) -> None:
    socket_forward.start(forward_argv(p), p.docker_sock, p.forward_pidfile,
                         p.vmroot / "log/docker-forward.log")
