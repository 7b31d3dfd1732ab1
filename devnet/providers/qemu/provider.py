"""A real VM: Debian built by `vm.image`, booted by QEMU, wired like the sim.

- The developer's machine is the sim's `<instance>-host` namespace; the host-only adapter's
  host side is a tap there (172.16.0.1/16), eth1 in the VM, no address until `vm.hostonly`.
- eth0 is QEMU user networking with restrict=on: the guest reaches nothing outside, and the
  one way in is the SSH forward 127.0.0.1:<port> -> :22 on this machine's loopback, as a
  VirtualBox NAT rule. eth2 is a tap into `<instance>-up`, the sim's upstream DNS.
- The Docker API is never on TCP: `ssh -L` forwards a unix socket in the state dir to the
  VM's /var/run/docker.sock (as docker-machine and lima do), for DOCKER_HOST and the SDK.
- The disk is a qcow2 overlay on the cached image; devnet's code is this checkout, shared
  read-only over 9p at /devnet, so vm_python() runs the code the host runs.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from devnet import netns, procs
from devnet.errors import DevnetError
from devnet.providers.base import Piece
from devnet.providers.qemu import boot as qemu_boot
from devnet.providers.qemu import image as vmimage
from devnet.providers.qemu import net as qemu_net
from devnet.providers.qemu.guest import CODE_DIR
from devnet.providers.sim.machine import SimulatedMachine, free_port
from devnet.providers.sim.network import UPSTREAM_DNS
from devnet.system import REMOTE_TIMEOUT, cmd, require_binaries, require_root, wait_until


class QemuProvider(SimulatedMachine):
    """The VM is a QEMU process on the simulated machine (its namespaces, SSH side, resolver)."""

    name = "qemu"
    network = qemu_net  # the host's and the upstream's namespaces, taps to the VM
    cli = "qemu-system-x86_64"

    def __init__(self, settings):
        super().__init__(settings)
        self.uplink = f"{settings.instance}-up0"
        self.meta_path = self.root / "qemu.json"
        self.power_pidfile = self.root / "qemu.pid"
        self.forward_pidfile = self.root / "docker-forward.pid"  # ssh -L for the Docker socket
        self.disk = self.vmroot / "disk.qcow2"
        self.seed = self.vmroot / "seed"  # the VM's SSH keys, shared read-only
        self.qmp_sock = self.vmroot / "qmp.sock"
        self.docker_sock = self.vmroot / "docker.sock"
        self.console = self.vmroot / "log/console.log"
        self.cache_root = Path(self.option("image_cache"))

    def preflight(self) -> None:
        require_root("create namespaces and tap devices and run QEMU for the VM")
        require_binaries("qemu-system-x86_64", "qemu-img", "debootstrap", "ssh", "ssh-keygen",
                         "ip", "dnsmasq", "mkfs.ext4")

    # -- create / destroy ----------------------------------------------------------------

    def image(self) -> vmimage.Image:
        """The image this VM's overlay was made on, else the one for the current inputs."""
        made_on = self.meta().get("image")
        return vmimage.Image(Path(made_on)) if made_on else vmimage.find(self.cache_root)

    def exists(self) -> bool:
        return (self.meta_path.exists() and self.disk.exists()
                and all(netns.exists(ns) for ns in (self.host_ns, self.up_ns)))

    def plan_create(self) -> list[str]:
        image = vmimage.find(self.cache_root)
        return [("" if image.ready() else "build the VM image (invoke vm.image, ~2 min), then ")
                + f"qcow2 overlay on {image.disk}",
                f"ip netns add {self.host_ns} (developer machine), {self.up_ns} (upstream DNS "
                f"{UPSTREAM_DNS}); taps {self.link} {self.settings.hostonly.host_cidr}, "
                f"{self.uplink}", f"ssh keys in {self.ssh_dir} and {self.seed}"]

    def create(self) -> str:
        self.preflight()
        image, built = self.image(), ""
        if not image.ready():
            image, built = vmimage.build(self.local, self.cache_root)
            built += "; "
        for d in (self.vmroot / "log", self.seed):
            d.mkdir(parents=True, exist_ok=True)
        port = self.meta().get("ssh_port") or free_port()
        self.make_keys(self.seed / "ssh_host_ed25519_key", port)
        shutil.copy(f"{self.key}.pub", self.seed / "authorized_keys")
        if not self.disk.exists():
            self.local.run(cmd("qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b",
                               image.disk, self.disk), hide=True)
        self.meta_path.write_text(json.dumps({"ssh_port": port, "image": str(image.dir)}))
        self.make_host_resolv()
        qemu_net.create(self)
        return (f"{built}overlay {self.disk} on {image.dir.name}, namespaces {self.host_ns} + "
                f"{self.up_ns}, taps {self.link} {self.settings.hostonly.host_cidr} <-> eth1, "
                f"{self.uplink} <-> eth2, ssh on 127.0.0.1:{port}")

    # -- power ---------------------------------------------------------------------------

    def running(self) -> bool:
        return bool(self.power_pid() and self.forward.alive() and self.upstream.alive()
                    and self._ssh_up())

    def plan_start(self) -> list[str]:
        port = self.meta().get("ssh_port", "<port picked by vm.init>")
        return [f"boot QEMU (KVM if a probe boots, else TCG) on {self.disk}, ssh forward "
                f"127.0.0.1:{port} -> :22, Docker socket over ssh -L at {self.docker_sock}"]

    def start(self) -> str:
        self.preflight()
        if not self.exists():
            raise DevnetError("the qemu VM has not been created", "invoke vm.init")
        t0, started = time.monotonic(), self.start_missing([])
        if not self.power_pid():
            how = qemu_boot.boot(self)
            self.meta_path.write_text(json.dumps({**self.meta(), "accel": how}))
            started.append(f"qemu ({how})")
        timeout = float(self.option("boot_timeout"))
        wait_until(self._ssh_up, timeout, "the VM's sshd (through the NAT forward)",
                   f"read {self.console} (the VM's console)", pause=1)
        booted = time.monotonic() - t0
        if not self.forward.alive():
            qemu_boot.forward_docker(self)
            started.append("docker socket forward")
        wait_until(lambda: self.docker_client(timeout=5).ping(), timeout, "dockerd in the VM",
                   "invoke vm.ssh -c 'systemctl status docker'", pause=1)
        return (f"VM up in {time.monotonic() - t0:.0f}s (sshd after {booted:.0f}s; "
                f"qemu pid {self.power_pid()}): started {', '.join(started) or 'nothing'}")

    def _ssh_up(self) -> bool:
        try:
            return self.ssh_banner()
        except OSError:
            return False

    def restart_docker(self) -> str:
        with self.connection() as conn:
            conn.run("systemctl restart docker", hide=True, in_stream=False,
                     timeout=REMOTE_TIMEOUT)
        wait_until(lambda: self.docker_client(timeout=5).ping(), 60, "dockerd to answer again",
                   "invoke vm.ssh -c 'journalctl -u docker'", pause=0.5)
        return "restarted dockerd (systemctl restart docker)"

    def vm_python(self) -> tuple[str, str | None]:
        return "/opt/devnet/bin/python", CODE_DIR

    def stop(self) -> str:
        stopped, pid = [], self.power_pid()
        if self.forward.stop(5):  # before sshd goes
            stopped.append("docker socket forward")
        if pid:
            try:  # ACPI power button: systemd shuts the guest down, then QEMU exits
                qemu_boot.qmp(self.qmp_sock, "system_powerdown")
                polite = float(self.option("shutdown_timeout"))
                wait_until(lambda: not procs.alive(pid), polite, "the VM to power off", "")
                stopped.append("VM (ACPI power-off)")
            except (OSError, ValueError, DevnetError):
                self.power.stop(5)
                stopped.append("VM (killed: no ACPI power-off in time)")
        self.power.path.unlink(missing_ok=True)
        # the upstream DNS is the outside world's, not the VM's: it outlives a halt (as the
        # sim's), destroy stops it
        self.docker_sock.unlink(missing_ok=True)
        return f"stopped {', '.join(stopped)}" if stopped else "already stopped"

    # -- endpoints -----------------------------------------------------------------------

    def docker_url(self) -> str:
        return f"unix://{self.docker_sock}"

    def status(self) -> list[Piece]:
        pieces = [Piece("namespaces", self.exists(), f"{self.host_ns}, {self.up_ns}"),
                  Piece("qemu", bool(self.power_pid()), f"pid {self.power_pid() or '-'}, "
                        f"{self.meta().get('accel', 'not booted yet')}; console {self.console}"),
                  Piece("sshd", self._ssh_up(), f"127.0.0.1:{self.meta().get('ssh_port', '-')}")]
        for name, pidfile in (("docker socket forward", self.forward),
                              ("upstream DNS", self.upstream)):
            pid = pidfile.pid()
            pieces.append(Piece(name, bool(pid), f"pid {pid or '-'}"))
        return pieces
