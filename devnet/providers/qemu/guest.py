"""What the qemu provider's VM image holds besides Debian's packages: the files devnet writes
into it and the units it enables. Their text is part of the image's cache key, so editing one
here makes `vm.image` build a new image.

Two read-only 9p shares: this checkout at /devnet (vm_python()'s PYTHONPATH) and the
instance's SSH keys, installed by devnet-seed.service before sshd starts.

The VM's three NICs (names fixed by net.ifnames=0 and their PCI slots):
- eth0: QEMU user networking (restrict=on), the NAT adapter with the SSH port-forward; DHCP.
- eth1: the host-only adapter, a tap in `<instance>-host`; no address until `vm.hostonly`.
- eth2: a tap into `<instance>-up`, the stand-in for the outside world holding only the
  upstream DNS (192.0.2.53): restrict=on drops everything but the forwards, QEMU's own DNS
  (10.0.2.3) included, so the VM's resolver cannot go through eth0.
"""

from __future__ import annotations

from devnet.providers.sim.network import UPSTREAM_DNS

# eth2 <-> the tap in <instance>-up: a /24 of its own (QEMU's user net is 10.0.2.0/24).
UPLINK_HOST, UPLINK_VM = "10.0.3.2/24", "10.0.3.15/24"
# Two read-only 9p shares: this checkout (as Vagrant syncs the project to /vagrant), so
# vm_python() runs the code the host runs; and the instance's SSH keys.
CODE_TAG, CODE_DIR = "devnet", "/devnet"
SEED_TAG, SEED_DIR = "seed", "/var/lib/devnet-seed"
# apparmor=0: Debian's kernel enables AppArmor, and dockerd then refuses to run containers
# without apparmor_parser; the VM is a throwaway test machine, not worth the profiles' boot time.
KERNEL_CMDLINE = "root=/dev/vda rw console=ttyS0 net.ifnames=0 apparmor=0 panic=-1"

# Written before the packages are configured, so the kernel's postinst makes a 6 MB initrd
# with the three modules that mount the root disk, not 35 MB of every driver (~10 s of an
# emulated boot).
EARLY_FILES = {
    "etc/initramfs-tools/conf.d/devnet.conf": "MODULES=list\nCOMPRESS=gzip\n",
    "etc/initramfs-tools/modules": "virtio_pci\nvirtio_blk\next4\n",
}

FILES = {
    "etc/hostname": "devnet-vm\n",
    "etc/hosts": "127.0.0.1 localhost\n127.0.1.1 devnet-vm\n",
    "etc/resolv.conf": f"nameserver {UPSTREAM_DNS}\n",
    "etc/fstab": (
        "/dev/vda / ext4 defaults,noatime 0 1\n"
        # nofail: a VM booted without a share still comes up (and says why over SSH).
        f"{CODE_TAG} {CODE_DIR} 9p trans=virtio,version=9p2000.L,ro,nofail,msize=262144 0 0\n"
        f"{SEED_TAG} {SEED_DIR} 9p trans=virtio,version=9p2000.L,ro,nofail 0 0\n"
    ),
    # The 9p transport must be there before local-fs mounts the share.
    "etc/modules-load.d/devnet.conf": "9p\n9pnet_virtio\n",
    "etc/systemd/network/10-nat.network": (
        "[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\n"
        "IPv6AcceptRA=no\n\n[DHCPv4]\nUseDNS=no\n"
    ),
    "etc/systemd/network/20-upstream.network": (
        f"[Match]\nName=eth2\n\n[Link]\nRequiredForOnline=no\n\n[Network]\n"
        f"Address={UPLINK_VM}\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n\n"
        f"[Route]\nDestination=192.0.2.0/24\nGateway={UPLINK_HOST.split('/')[0]}\n"
    ),
    # eth1 matches no .network file: networkd leaves it alone, down and without an address.
    "etc/systemd/system/devnet-seed.service": (
        "[Unit]\nDescription=devnet: this VM's SSH keys from the host's share\n"
        f"RequiresMountsFor={SEED_DIR}\nBefore=ssh.service\n\n"
        "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -ec '"
        "install -d -m 700 /root/.ssh; "
        f"install -m 600 {SEED_DIR}/authorized_keys /root/.ssh/authorized_keys; "
        f"install -m 600 {SEED_DIR}/ssh_host_ed25519_key /etc/ssh/; "
        f"install -m 644 {SEED_DIR}/ssh_host_ed25519_key.pub /etc/ssh/'\n\n"
        "[Install]\nRequiredBy=ssh.service\n"
    ),
    "etc/ssh/sshd_config.d/devnet.conf": (
        "HostKey /etc/ssh/ssh_host_ed25519_key\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUseDNS no\n"
    ),
    # dockerd is containerd's only client: no CRI plugin (Kubernetes'), which would listen on
    # a TCP port and cost seconds at every boot.
    "etc/containerd/config.toml": (
        'version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n\n'
        '[plugins."io.containerd.internal.v1.opt"]\n  path = "/var/lib/containerd/opt"\n'
    ),
    # Power-off, not a polite stop: containers get 2 s, not dockerd's default 15 s.
    "etc/default/docker": 'DOCKER_OPTS="--shutdown-timeout 2"\n',
}
ENABLE = ("systemd-networkd.service", "devnet-seed.service", "ssh.service", "docker.service")
# Timers that would wake the slow (emulated) VM for nothing, a getty on a screen it lacks, and
# early-boot units a Docker VM does not use (each costs seconds under TCG).
MASK = ("apt-daily.timer", "apt-daily-upgrade.timer", "dpkg-db-backup.timer",
        "e2scrub_all.timer", "e2scrub_reap.service", "fstrim.timer", "getty@tty1.service",
        "systemd-binfmt.service", "systemd-pstore.service", "dev-hugepages.mount",
        "sys-kernel-debug.mount", "sys-kernel-tracing.mount", "sys-fs-fuse-connections.mount",
        "modprobe@loop.service", "modprobe@dm_mod.service", "modprobe@efi_pstore.service",
        "modprobe@fuse.service", "modprobe@drm.service")
# Kernel modules a VM with virtio disks and NICs never loads (~200 MB of ~400), under
# /usr/lib/modules/<version>/kernel; and the docs, manuals and translations (~60 MB).
PRUNE_MODULES = ("drivers/gpu", "drivers/media", "drivers/infiniband", "drivers/iio",
                 "drivers/staging", "drivers/comedi", "drivers/net/wireless",
                 "drivers/net/ethernet", "drivers/usb", "drivers/bluetooth", "sound",
                 "net/wireless", "net/mac80211", "net/bluetooth")
PRUNE_DIRS = ("usr/share/doc", "usr/share/man", "usr/share/locale", "var/lib/apt/lists")
