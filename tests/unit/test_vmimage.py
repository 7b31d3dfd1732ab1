"""The VM image's cache key, mirror choice and build command lines (nothing is built)."""

from pathlib import Path

import pytest
from invoke import MockContext, Result

from devnet.errors import DevnetError
from devnet.providers.qemu import guest as qemu_guest
from devnet.providers.qemu import image as vmimage

LOCK = """\
certifi==2026.10.19.post1
charset-normalizer==3.5.3
dnspython==2.9.2
docker==7.2.0
fabric==3.2.3
idna==3.20
requests==2.34.2
ruff==0.17.6
urllib3==2.8.0
"""


def test_vm_requirements_are_the_dns_services_pins_only():
    lines = vmimage.vm_requirements(LOCK)
    assert "dnspython==2.9.2" in lines and "docker==7.2.0" in lines
    assert not any(ln.startswith(("fabric", "ruff")) for ln in lines)
    assert len(lines) == len(vmimage.VM_REQUIREMENTS)


def test_a_lock_without_a_vm_package_is_refused_by_name():
    with pytest.raises(DevnetError, match="dnspython"):
        vmimage.vm_requirements(LOCK.replace("dnspython==2.9.2\n", ""))


def test_the_key_ignores_host_only_pins_and_follows_every_input(monkeypatch):
    key = vmimage.digest(vmimage.inputs(LOCK))
    assert key == vmimage.digest(vmimage.inputs(LOCK.replace("ruff==0.17.6", "ruff==0.18")))
    assert key != vmimage.digest(vmimage.inputs(LOCK.replace("docker==7.2.0", "docker==7.3")))
    for name, value in (("SUITE", "trixie"), ("VERSION", vmimage.VERSION + 1),
                        ("PACKAGES", (*vmimage.PACKAGES, "curl"))):
        with monkeypatch.context() as m:
            m.setattr(vmimage, name, value)
            assert vmimage.digest(vmimage.inputs(LOCK)) != key, name
    with monkeypatch.context() as m:
        m.setattr(qemu_guest, "FILES", {**qemu_guest.FILES, "etc/hostname": "other\n"})
        assert vmimage.digest(vmimage.inputs(LOCK)) != key
    # The package list is a set: its order does not make a new image.
    with monkeypatch.context() as m:
        m.setattr(vmimage, "PACKAGES", tuple(reversed(vmimage.PACKAGES)))
        assert vmimage.digest(vmimage.inputs(LOCK)) == key


def test_find_puts_the_image_under_its_key(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text(LOCK)
    image = vmimage.find(tmp_path / "cache", lock)
    assert image.dir == tmp_path / "cache" / vmimage.digest(vmimage.inputs(LOCK))
    assert not image.ready()
    image.dir.mkdir(parents=True)
    for path in (image.disk, image.kernel, image.initrd, image.manifest):
        path.write_text("x")
    assert image.ready()


def test_a_cached_image_is_reused_without_running_anything(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text(LOCK)
    image = vmimage.find(tmp_path, lock)
    image.dir.mkdir()
    for path in (image.disk, image.kernel, image.initrd, image.manifest):
        path.write_text("x")
    c = MockContext()  # any command would raise: none is expected
    assert vmimage.build(c, tmp_path, lock) == (image, f"cached: {image.dir}")


def test_a_failing_step_says_which_and_leaves_no_work_dir(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text(LOCK)
    c = MockContext(run=Result(stderr="ERROR: No matching distribution found\n", exited=1))
    with pytest.raises(DevnetError, match="(?s)wheels failed \\(1\\).*No matching"):
        vmimage.build(c, tmp_path, lock, mirror="http://deb.example/debian", echo=lambda _: None)
    assert not any(p.name.startswith(".build-") for p in tmp_path.iterdir())


def test_mirror_from_one_line_and_deb822_sources(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d/debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb deb-src\nURIs: http://mirror.example/debian\nSuites: bookworm\n")
    assert vmimage.apt_mirror(tmp_path) == "http://mirror.example/debian"
    (tmp_path / "sources.list").write_text(
        "# comment\ndeb [arch=amd64 signed-by=/k.gpg] https://apt.example/debian/ bookworm main\n")
    assert vmimage.apt_mirror(tmp_path) == "https://apt.example/debian/"


def test_no_debian_source_falls_back_to_debs_own_mirror(tmp_path):
    (tmp_path / "sources.list").write_text("deb https://packages.example/apt cloud-sdk main\n")
    assert vmimage.apt_mirror(tmp_path) == "http://deb.debian.org/debian"


def test_command_lines():
    rootfs, mirror = Path("/c/.build-k/rootfs"), "http://deb.example/debian"
    argv = vmimage.debootstrap_argv(rootfs, mirror)
    assert argv[:3] == ["debootstrap", "--foreign", "--variant=minbase"]
    assert argv[-3:] == [vmimage.SUITE, str(rootfs), mirror]
    included = argv[3].removeprefix("--include=").split(",")
    assert {"linux-image-amd64", "openssh-server", "docker.io", "python3-venv"} <= set(included)
    mkfs = vmimage.mkfs_argv(rootfs, Path("/c/root.ext4"))
    assert mkfs[0] == "mkfs.ext4" and mkfs[-3:] == [str(rootfs), "/c/root.ext4",
                                                   f"{vmimage.DISK_MB}M"]
    wheels = vmimage.wheels_argv(Path("/w"), Path("/w/r.txt"))
    assert wheels[1:4] == ["-m", "pip", "download"]
    assert "--only-binary=:all:" in wheels and wheels[-2:] == ["-r", "/w/r.txt"]
    assert vmimage.chroot(rootfs, "python3", "-m", "venv", "/opt/devnet").startswith(
        "chroot /c/.build-k/rootfs /usr/bin/env -i PATH=")
    lines = vmimage.plan(rootfs, mirror)
    assert "pip download" in lines[0] and lines[1].startswith("nice debootstrap")
    assert "mkfs.ext4" in lines[-1]


def test_guest_files_are_relative_and_the_nics_are_named():
    files = {**qemu_guest.FILES, **qemu_guest.EARLY_FILES}
    assert all(not rel.startswith("/") for rel in files)
    assert "Name=eth0" in files["etc/systemd/network/10-nat.network"]
    assert "UseDNS=no" in files["etc/systemd/network/10-nat.network"]
    assert "Name=eth2" in files["etc/systemd/network/20-upstream.network"]
    assert not any("eth1" in text for text in files.values())  # left to vm.hostonly
    assert "net.ifnames=0" in qemu_guest.KERNEL_CMDLINE


def test_configure_writes_devnets_files_and_leaves_out_what_a_vm_never_uses(tmp_path):
    root = tmp_path / "rootfs"
    for rel in ("etc/ssh/ssh_host_rsa_key", "etc/machine-id", "tmp/devnet-wheels/a.whl",
                "usr/lib/modules/6.1.0-50-amd64/kernel/sound/snd.ko",
                "usr/lib/modules/6.1.0-50-amd64/kernel/drivers/virtio/virtio.ko",
                "usr/share/doc/bash/copyright"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    ran = []
    vmimage.configure(None, root, lambda what, line: ran.append(line))
    assert (root / "etc/resolv.conf").read_text() == "nameserver 192.0.2.53\n"
    assert not list((root / "etc/ssh").glob("ssh_host_*"))  # each VM gets its own key
    assert (root / "etc/machine-id").read_text() == ""
    assert not (root / "tmp/devnet-wheels").exists()
    kernel = root / "usr/lib/modules/6.1.0-50-amd64/kernel"
    assert not (kernel / "sound").exists() and (kernel / "drivers/virtio/virtio.ko").exists()
    assert (root / "usr/share/doc").is_dir() and not list((root / "usr/share/doc").iterdir())
    (line,) = ran
    assert "systemctl enable" in line and "depmod 6.1.0-50-amd64" in line
