"""devnet's --bip/--dns survive the VM's restart where each VM keeps them, and `down` puts
each place back exactly. A small model of each VM's restart: boot2docker rebuilds / from
its ISO (only /var/lib/boot2docker and /var/lib/docker stay), colima writes daemon.json
from colima.yaml's docker section, a Debian VM keeps /etc."""

import json
import re
from dataclasses import replace

import pytest
from invoke import Result

from devnet.core import Devnet
from devnet.errors import DevnetError
from devnet.providers.cli.colima_config import docker_section, with_docker_section
from devnet.providers.dockerd_settings import DAEMON_JSON, PROFILE, DaemonJson
from devnet.steps.docker import DockerConfigure
from tests.unit.conftest import fixture_text

PERSISTENT = ("/var/lib/boot2docker/", "/var/lib/docker/")


class FakeVm:
    """Files, and a dockerd whose docker0 takes the --bip it is started with."""

    def __init__(self, kind, files=None, colima_yaml=None):
        self.kind, self.files, self.colima_yaml = kind, dict(files or {}), colima_yaml
        self.docker0 = "172.17.0.1/16"

    def dockerd_bip(self) -> str | None:
        bip = json.loads(self.files.get(DAEMON_JSON) or "{}").get("bip")
        flags = re.findall(r"--bip=(\S+?)[\"' ]", self.files.get(PROFILE, ""))
        if bip and flags:
            raise AssertionError("dockerd refuses bip both as a flag and in daemon.json")
        return bip or (flags[-1] if flags else None)

    def restart_docker(self) -> str:
        self.docker0 = self.dockerd_bip() or "172.17.0.1/16"
        return "restarted dockerd"

    def reboot(self) -> None:
        if self.kind == "boot2docker":
            self.files = {p: t for p, t in self.files.items() if p.startswith(PERSISTENT)}
        if self.kind == "colima":  # colima start: daemon.json from colima.yaml
            self.files[DAEMON_JSON] = json.dumps(docker_section(self.colima_yaml.read_text()))
        self.restart_docker()

    def run(self, *argv, warn=False):
        if argv[:2] == ("rm", "-f"):
            self.files.pop(argv[2], None)
            return Result("")
        assert argv == ("ip", "-o", "addr", "show", "dev", "docker0"), argv
        return Result(f"4: docker0    inet {self.docker0} brd 172.17.255.255 scope global "
                      "docker0\\       valid_lft forever preferred_lft forever\n")


def devnet_on(settings, provider, vm, monkeypatch) -> Devnet:
    dn = Devnet(replace(settings, provider=provider), echo=lambda _: None)
    monkeypatch.setattr(dn, "vm_read", lambda path: vm.files.get(path))
    monkeypatch.setattr(dn, "vm_write", lambda path, text: vm.files.__setitem__(path, text))
    monkeypatch.setattr(dn, "vm_run", vm.run)
    monkeypatch.setattr(dn.provider, "restart_docker", vm.restart_docker)
    monkeypatch.setattr(dn.provider, "running", lambda: True)
    return dn


MACHINE_PROFILE = fixture_text("providers/boot2docker-profile-machine.txt")


@pytest.fixture
def colima_yaml(tmp_path, monkeypatch):
    monkeypatch.setenv("COLIMA_HOME", str(tmp_path / "colima"))
    path = tmp_path / "colima" / "devnet" / "colima.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(fixture_text("providers/colima.yaml"))
    return path


@pytest.mark.parametrize("provider, kind, files", [
    ("vagrant", "debian", {DAEMON_JSON: '{"log-driver": "journald"}'}),
    ("boot2docker", "boot2docker", {}),
    ("docker-machine", "boot2docker", {PROFILE: MACHINE_PROFILE}),
    ("colima", "colima", {DAEMON_JSON: "{}"}),
])
def test_survives_a_restart_and_down_puts_it_back(settings, monkeypatch, colima_yaml,
                                                  provider, kind, files):
    vm = FakeVm(kind, files, colima_yaml)
    before, yaml_before = dict(vm.files), colima_yaml.read_text()
    dn = devnet_on(settings, provider, vm, monkeypatch)
    step = DockerConfigure(dn)
    assert step.check() is None
    step.apply()
    step.verify()
    assert step.check() and vm.docker0 == "172.17.42.1/16"
    vm.reboot()
    assert vm.docker0 == "172.17.42.1/16"
    assert step.check(), "re-checked after the restart: still done"
    step.undo(dn.journal.entries()[0]["args"])
    assert {p: t for p, t in vm.files.items() if p.startswith(PERSISTENT)} == \
        {p: t for p, t in before.items() if p.startswith(PERSISTENT)}
    if kind != "boot2docker":
        assert vm.files == before
    assert colima_yaml.read_text() == yaml_before


@pytest.mark.parametrize("provider, kind", [("boot2docker", "boot2docker"),
                                            ("colima", "colima")])
def test_daemon_json_alone_would_be_lost_on_these_vms(settings, monkeypatch, colima_yaml,
                                                      provider, kind):
    """Why the provider's own place: the usual file does not survive their restart."""
    vm = FakeVm(kind, {DAEMON_JSON: "{}"}, colima_yaml)
    dn = devnet_on(settings, provider, vm, monkeypatch)
    monkeypatch.setattr(dn.provider, "dockerd_settings", DaemonJson)
    step = DockerConfigure(dn)
    step.apply()
    vm.reboot()
    assert vm.docker0 != "172.17.42.1/16" and step.check() is None


def test_the_profile_line_extends_docker_machines_and_goes_alone(settings, monkeypatch):
    vm = FakeVm("boot2docker", {PROFILE: MACHINE_PROFILE})
    dn = devnet_on(settings, "docker-machine", vm, monkeypatch)
    DockerConfigure(dn).apply()
    lines = vm.files[PROFILE].splitlines()
    assert lines[0] == MACHINE_PROFILE.strip()
    assert lines[1] == ('EXTRA_ARGS="$EXTRA_ARGS --bip=172.17.42.1/16 --dns=172.17.42.1"  '
                        "# devnet:dntest")
    # docker-machine provision rewrites the profile: the step sees it and says not done
    vm.files[PROFILE] = MACHINE_PROFILE
    vm.reboot()
    assert DockerConfigure(dn).check() is None
    assert "docker-machine provision" in dn.provider.dockerd_fix


def test_a_profile_flag_and_daemon_json_together_are_refused(settings, monkeypatch):
    vm = FakeVm("boot2docker", {DAEMON_JSON: '{"dns": ["8.8.8.8"]}'})
    dn = devnet_on(settings, "boot2docker", vm, monkeypatch)
    with pytest.raises(DevnetError, match="dockerd would refuse to start"):
        DockerConfigure(dn).apply()


def test_colima_yaml_keeps_every_other_line(colima_yaml):
    text = colima_yaml.read_text()
    ours = with_docker_section(text, {"bip": "172.17.42.1/16", "dns": ["172.17.42.1"]})
    assert "docker: {}" not in ours
    assert "docker:\n  bip: 172.17.42.1/16\n  dns:\n  - 172.17.42.1\n\n# Volume mount" in ours
    block = "docker:\n  bip: 172.17.42.1/16\n  dns:\n  - 172.17.42.1\n"
    assert ours.replace(block, "docker: {}\n") == text  # every other line as it was
    assert with_docker_section(ours, {}) == text
    assert docker_section(ours) == {"bip": "172.17.42.1/16", "dns": ["172.17.42.1"]}


def test_colima_undo_after_the_user_edited_the_file_takes_back_only_devnets_keys(
        settings, monkeypatch, colima_yaml):
    vm = FakeVm("colima", {DAEMON_JSON: "{}"}, colima_yaml)
    dn = devnet_on(settings, "colima", vm, monkeypatch)
    step = DockerConfigure(dn)
    step.apply()
    edited = colima_yaml.read_text().replace("cpu: 2", "cpu: 4")
    edited = with_docker_section(edited, {**docker_section(edited), "debug": True})
    colima_yaml.write_text(edited)
    step.undo(dn.journal.entries()[0]["args"])
    now = colima_yaml.read_text()
    assert "cpu: 4" in now and docker_section(now) == {"debug": True}
