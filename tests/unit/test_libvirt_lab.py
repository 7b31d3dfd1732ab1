"""The libvirt lab's plumbing: its private directories, the nsenter prefix every lab command
gets, what it reads back from virsh, and the environment vagrant runs with there."""

from pathlib import Path

import pytest
from invoke import MockContext, Result

from devnet import vagrant_lab
from devnet.errors import DevnetError
from devnet.libvirt_lab import Lab


@pytest.fixture
def lab(tmp_path):
    return Lab("vl", tmp_path)


def test_private_copies_live_under_the_labs_root(lab, tmp_path):
    assert lab.ns == "vl-lv"
    assert lab.dir("/run/libvirt") == tmp_path / "libvirt-lab" / "run_libvirt"
    assert lab.socket == tmp_path / "libvirt-lab" / "run_libvirt" / "libvirt-sock"


def test_commands_run_inside_both_namespaces_only_while_libvirtd_runs(lab, monkeypatch):
    with pytest.raises(DevnetError, match="lab vl-lv is not running"):
        lab.line("virsh", "list")
    monkeypatch.setattr(lab, "pid", lambda: 4242)
    assert lab.line("virsh", "net-list") == "nsenter -t 4242 -m -n virsh net-list"


V = "nsenter -t 4242 -m -n virsh -c qemu:///system"


def test_objects_lists_domains_networks_and_volumes(lab, monkeypatch):
    monkeypatch.setattr(lab, "pid", lambda: 4242)
    c = MockContext(run={
        f"{V} list --all --name": Result("vagrant_default\n\n"),
        f"{V} net-list --all --name": Result("vagrant-libvirt\ndevnet0\n\n"),
        f"{V} pool-list --all --name": Result("default\n\n"),
        f"{V} vol-list default --name": Result(
            "devnet-VAGRANTSLASH-lab_vagrant_box_image_0_box.img\nvagrant_default.img\n\n")})
    assert lab.objects(c) == {
        "domains": ["vagrant_default"], "networks": ["vagrant-libvirt", "devnet0"],
        "volumes": ["default/devnet-VAGRANTSLASH-lab_vagrant_box_image_0_box.img",
                    "default/vagrant_default.img"]}


def test_vagrant_runs_with_the_labs_home_box_and_driver(lab):
    env = vagrant_lab.vagrant_env(lab, "qemu")
    assert f"VAGRANT_HOME={lab.root / 'vagrant.d'}" in env
    assert {"VAGRANT_DEFAULT_PROVIDER=libvirt", "DEVNET_BOX=devnet/lab",
            "DEVNET_LIBVIRT_DRIVER=qemu", "DEVNET_SYNC=none"} <= set(env)
    argv = vagrant_lab.devnet_argv(lab, "qemu", "vl", "up")
    assert "INVOKE_DEVNET_PROVIDER=vagrant" in argv and argv[-1] == "up"
    assert argv[argv.index("--search-root") + 1] == str(vagrant_lab.PROJECT_DIR)
    assert Path(argv[argv.index("-m") - 1]).name.startswith("python")
