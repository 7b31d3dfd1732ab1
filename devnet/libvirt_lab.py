"""A simulated developer machine with its own libvirtd, for `vagrant up --provider=libvirt`.

libvirtd (Debian's libvirt-daemon-system, 9.0) runs in a network namespace of its own and a
mount namespace in which /etc (a copy, so devnet's resolver edits rename files inside it as
on a real machine), /run/libvirt, /var/lib/libvirt, /var/log/libvirt and /var/cache/libvirt
are private directories under the lab's root: the bridges, dnsmasq and firewall rules
libvirt makes for vagrant's networks, and the resolver devnet sets, exist only in the lab,
never on the real machine. Every command of the lab
(vagrant, virsh, `invoke up` itself) runs inside both namespaces (`nsenter -t <libvirtd> -m
-n`), as on a developer's machine where libvirt is installed.

libvirtd needs the libvirt-qemu user and group (libvirt-daemon-system's postinst makes
them); the lab's copy of /etc/libvirt starts with no network defined (Debian's `default`
would take 192.168.122.0/24).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

from devnet import netns, procs
from devnet.errors import DevnetError
from devnet.system import cmd, require_binaries, wait_until

# libvirt adds its top-level firewall chains (LIBVIRT_INP, LIBVIRT_FWI, ... and the jumps to
# them) the first time one of its networks starts, and keeps them for the daemon's life: a
# developer's machine that has used libvirt has them. The lab starts and removes one isolated
# network of this throwaway definition first, so the machine the suite snapshots before `up`
# is such a machine, and `down` is judged on what devnet and vagrant leave (TEST-NET-2: no
# overlap with devnet's, vagrant-libvirt's or the lab's networks).
WARM_NET = ("<network><name>devnet-lab-warm</name><bridge name='lvwarm0'/><dns enable='no'/>"
            "<ip address='198.51.100.1' netmask='255.255.255.252'/></network>")
PRIVATE = ("/run/libvirt", "/var/lib/libvirt", "/var/log/libvirt", "/var/cache/libvirt")
VIRSH = ("virsh", "-c", "qemu:///system")


class Lab:
    def __init__(self, instance: str, state_dir: Path):
        self.ns = f"{instance}-lv"
        self.root = Path(state_dir) / "libvirt-lab"
        self.pidfile = procs.Pidfile(self.root / "libvirtd.pid")

    def dir(self, path: str) -> Path:
        """The lab's private copy of a system directory (or file)."""
        return self.root / path.strip("/").replace("/", "_")

    @property
    def socket(self) -> Path:
        return self.dir("/run/libvirt") / "libvirt-sock"

    def pid(self) -> int | None:
        return self.pidfile.pid()

    def prefix(self) -> list[str]:
        pid = self.pid()
        if not pid:
            raise DevnetError(f"the libvirt lab {self.ns} is not running", "invoke test.vagrant")
        return ["nsenter", "-t", str(pid), "-m", "-n"]

    def line(self, *argv) -> str:
        """A shell command line that runs `argv` inside the lab."""
        return cmd(*self.prefix(), *argv)

    def run(self, c, *argv, **kwargs):
        return c.run(self.line(*argv), **{"hide": True, **kwargs})

    def start(self, c, resolv_conf: str = "") -> str:
        if self.pid():
            return f"libvirt lab {self.ns} already running (libvirtd pid {self.pid()})"
        require_binaries("libvirtd", "virsh", "nsenter", "unshare")
        self.root.mkdir(parents=True, exist_ok=True)
        for path in PRIVATE:
            Path(path).mkdir(parents=True, exist_ok=True)  # mount points (empty on the host)
            self.dir(path).mkdir(exist_ok=True)
            if path != "/run/libvirt":  # the package's empty tree (images, qemu, ...)
                c.run(cmd("cp", "-a", f"{path}/.", self.dir(path)), hide=True)
        self.dir("/etc").mkdir(exist_ok=True)
        etc_copy = self.dir("/etc")
        c.run(cmd("cp", "-a", "--one-file-system", "/etc/.", etc_copy), hide=True)
        etc = etc_copy / "libvirt"
        # No network of the package's (Debian's `default`, 192.168.122.0/24): the lab's
        # libvirt holds only what vagrant makes, so "nothing left" is exact.
        for defined in [*etc.glob("qemu/networks/autostart/*.xml"),
                        *etc.glob("qemu/networks/*.xml")]:
            defined.unlink()
        # QEMU as root: it reads the box's kernel and 9p shares from the lab's directories
        # and the checkout, which libvirt-qemu may not traverse. A throwaway test machine.
        with open(etc / "qemu.conf", "a") as conf:
            # QEMU's output to files: no virtlogd in the lab (one daemon is enough).
            conf.write('\nuser = "root"\ngroup = "root"\nsecurity_driver = "none"\n'
                       'stdio_handler = "file"\n')
        resolv = etc_copy / "resolv.conf"
        resolv.unlink(missing_ok=True)  # a symlink to the real machine's resolver, maybe
        resolv.write_text(resolv_conf)
        if not netns.exists(self.ns):
            netns.add(c, self.ns)
        mounts = [f"mount --bind {shlex.quote(str(self.dir(p)))} {p}"
                  for p in ("/etc", *PRIVATE)]
        script = " && ".join([*mounts, f"exec nsenter --net=/run/netns/{self.ns} libvirtd"])
        log = open(self.root / "libvirtd.log", "ab")  # noqa: SIM115 - handed to the daemon
        with log:
            self.pidfile.spawn(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(self.socket.exists, 30, f"libvirtd's socket {self.socket}",
                   f"tail {self.root / 'libvirtd.log'}", pause=0.2)
        warm = self.root / "warm-net.xml"
        warm.write_text(WARM_NET)
        self.run(c, *VIRSH, "net-create", str(warm))  # transient: gone once destroyed
        self.run(c, *VIRSH, "net-destroy", "devnet-lab-warm")
        warm.unlink()
        return (f"libvirt lab {self.ns}: libvirtd pid {self.pid()}, its own /run/libvirt, "
                "libvirt's firewall chains in place")

    def objects(self, c) -> dict[str, list[str]]:
        """libvirt's domains, networks and volumes in the lab (what must go at the end)."""
        found = {}
        for kind, argv in (("domains", ("list", "--all", "--name")),
                           ("networks", ("net-list", "--all", "--name"))):
            out = self.run(c, *VIRSH, *argv, warn=True)
            found[kind] = [ln.strip() for ln in out.stdout.splitlines() if ln.strip()]
        vols = []
        pools = self.run(c, *VIRSH, "pool-list", "--all", "--name", warn=True).stdout.split()
        for pool in pools:
            out = self.run(c, *VIRSH, "vol-list", pool, "--name", warn=True)
            vols += [f"{pool}/{v.strip()}" for v in out.stdout.splitlines() if v.strip()]
        found["volumes"] = vols
        return found

    def stop(self, c) -> str:
        """libvirtd, every process left in the lab's namespaces (dnsmasq, qemu), the
        namespace and the lab's directories: nothing of the lab stays."""
        pid = self.pid()
        mnt = procs.namespace(pid, "mnt") if pid else None
        self.pidfile.stop()
        others = procs.pids_in_mount_ns({mnt}) if mnt else []
        if netns.exists(self.ns):
            out = c.run(cmd("ip", "netns", "pids", self.ns), hide=True, warn=True)
            others += [int(p) for p in out.stdout.split() if p.isdigit()]
        for other in sorted(set(others)):
            procs.stop(other, timeout=5)
        gone_ns = netns.delete(c, self.ns)
        shutil.rmtree(self.root, ignore_errors=True)
        said = [f"libvirtd and {len(set(others))} other process(es)" if others else "libvirtd"]
        said += ["its netns"] if gone_ns else []
        return f"stopped libvirt lab {self.ns} ({', '.join(said)})"
