"""VirtualBox >= 6.1.28 refuses host-only addresses outside networks.conf's ranges (default
192.168.56.0/21): the VirtualBox-based providers check before creating anything, and say the
exact line to add."""

import ipaddress
from dataclasses import replace

import pytest
from invoke import MockContext, Result

from devnet.errors import DevnetError
from devnet.providers.cli import virtualbox_ranges as vb
from devnet.providers.cli.boot2docker import Boot2DockerProvider
from devnet.providers.cli.docker_machine import DockerMachineProvider
from devnet.providers.cli.vagrant import VagrantProvider

NET = ipaddress.ip_network("172.16.0.0/16")
# Lines as users posted them: VirtualBox's manual's example (cilium/cilium#17900) and a
# commented file with one range (rdbreak/rhcsa8env#66).
MANUAL = "* 10.0.0.0/8 192.168.0.0/16\n* 2001::/64\n"


def host(version="6.1.28r147628\n", conf=None):
    """`VBoxManage --version` as kit-tm/sdn-cockpit#14 quotes it; networks.conf or none."""
    return MockContext(run={
        "VBoxManage --version": Result(version) if version else Result("", exited=127),
        f"cat {vb.NETWORKS_CONF}": Result(conf) if conf is not None else Result("", exited=1)})


def test_parsers():
    assert vb.parse_version("6.1.28r147628\n") == (6, 1, 28)
    assert vb.parse_version("WARNING: The vboxdrv kernel module is not loaded.\n7.0.10r158379\n"
                            ) == (7, 0, 10)
    assert vb.parse_networks_conf("# allowed\n" + MANUAL) == [
        ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.168.0.0/16")]


def test_before_6_1_28_any_range_goes():
    assert "allows any" in vb.check(host("6.1.26r145957\n"), NET)


def test_no_file_means_only_the_default_range_and_the_line_keeps_it():
    with pytest.raises(DevnetError) as err:
        vb.check(host(), NET)
    assert "only addresses in 192.168.56.0/21 (its default (no /etc/vbox/networks.conf))" in \
        err.value.what
    assert "`* 172.16.0.0/16 192.168.56.0/21`" in err.value.hint
    assert "192.168.56.0/24" in err.value.hint  # or devnet's own range inside the default
    assert "inside" in vb.check(host(), ipaddress.ip_network("192.168.56.0/24"))


def test_a_file_that_allows_it_and_one_that_does_not():
    assert "inside" in vb.check(host(conf="* 172.16.0.0/12\n"), NET)
    with pytest.raises(DevnetError) as err:
        vb.check(host(conf=MANUAL), NET)
    assert "10.0.0.0/8, 192.168.0.0/16 (/etc/vbox/networks.conf)" in err.value.what
    assert "`* 172.16.0.0/16` to /etc/vbox/networks.conf" in err.value.hint


def preflight_host(status: Result):
    """boot2docker installed, its status, VirtualBox 7.0.10 without networks.conf."""
    return MockContext(run={"command -v boot2docker": Result("/usr/local/bin/boot2docker\n"),
                            "boot2docker --vm=boot2docker-vm status": status,
                            "VBoxManage --version": Result("7.0.10r158379\n"),
                            f"cat {vb.NETWORKS_CONF}": Result("", exited=1)})


def test_boot2docker_refuses_before_init(settings):
    not_there = Result("", stderr='machine "boot2docker-vm" does not exist', exited=1)
    p = Boot2DockerProvider(settings, local=preflight_host(not_there))
    with pytest.raises(DevnetError, match="creating the VM would fail"):
        p.preflight()
    # a VM that exists was allowed by VirtualBox already: nothing to refuse
    Boot2DockerProvider(settings, local=preflight_host(Result("running\n"))).preflight()


def test_docker_machine_checks_only_for_virtualbox(settings):
    p = DockerMachineProvider(settings)
    assert p.uses_virtualbox()
    other = replace(settings, options={**settings.options,
                                       "docker-machine": {"machine": "devnet",
                                                          "driver": "generic"}})
    assert not DockerMachineProvider(other).uses_virtualbox()


def test_vagrant_uses_virtualbox_as_vagrant_chooses_it(settings, monkeypatch):
    """VAGRANT_DEFAULT_PROVIDER, else the Vagrantfile's first usable provider: VirtualBox
    where VBoxManage is installed."""
    with_vbox = MockContext(run={"command -v VBoxManage": Result("/usr/bin/VBoxManage\n")})
    without = MockContext(run={"command -v VBoxManage": Result("", exited=1)})
    monkeypatch.delenv("VAGRANT_DEFAULT_PROVIDER", raising=False)
    assert VagrantProvider(settings, local=with_vbox).uses_virtualbox()
    assert not VagrantProvider(settings, local=without).uses_virtualbox()
    monkeypatch.setenv("VAGRANT_DEFAULT_PROVIDER", "libvirt")
    assert not VagrantProvider(settings, local=with_vbox).uses_virtualbox()
    monkeypatch.setenv("VAGRANT_DEFAULT_PROVIDER", "virtualbox")
    assert VagrantProvider(settings, local=without).uses_virtualbox()
