"""The lab's Vagrant box: vagrant-libvirt's box format (metadata.json, box.img, Vagrantfile),
made from the qemu provider's image, whose kernel boots directly."""

import subprocess
from pathlib import Path

from devnet import vagrant_box
from devnet.providers.qemu import guest


def test_metadata_is_vagrant_libvirts_box_format():
    assert vagrant_box.metadata(6144 * 1024**2) == {"provider": "libvirt", "format": "qcow2",
                                                    "virtual_size": 6}
    assert vagrant_box.metadata(1)["virtual_size"] == 1


def test_the_box_vagrantfile_boots_the_images_kernel_with_its_shares():
    text = vagrant_box.box_vagrantfile(Path("/src/devnet"), "qemu")
    assert 'lv.driver = "qemu"' in text
    assert f'lv.cmd_line = "{guest.KERNEL_CMDLINE}"' in text
    assert 'lv.kernel = File.join(box, "vmlinuz")' in text
    for tag, slot in zip((guest.SEED_TAG, guest.CODE_TAG, vagrant_box.WHEELS_TAG),
                         ("0x1a", "0x1b", "0x1c"), strict=True):
        assert f"mount_tag={tag},bus=pci.0,addr={slot}" in text  # clear of libvirt's slots
    assert "id=fsdevnet,path=/src/devnet,security_model=none,readonly=on" in text
    assert 'config.ssh.username = "root"' in text and "insert_key = false" in text


def test_the_box_vagrantfile_is_ruby(tmp_path):
    path = tmp_path / "Vagrantfile"
    path.write_text(vagrant_box.box_vagrantfile(Path("/src/devnet"), "kvm"))
    out = subprocess.run(["ruby", "-c", str(path)], capture_output=True, text=True)
    assert out.returncode == 0 and "Syntax OK" in out.stdout, out.stderr


def test_wheels_are_the_locks_with_hashes_checked():
    argv = vagrant_box.wheels_argv(Path("/w"), Path("/r.lock"))
    assert "--require-hashes" in argv and argv[-2:] == ["-r", "/r.lock"]
