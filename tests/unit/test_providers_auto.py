"""provider=auto: devnet.providers.choose picks the first provider whose CLI is installed and
whose VM runs (colima, docker-machine, boot2docker, vagrant, then Docker on this machine),
says why, and falls back to the sim; a CLI that fails is passed over, never fatal."""

import pytest
from invoke import Result

from devnet import providers
from devnet.providers.local.provider import LocalProvider
from tests.unit.test_desktop_engines import text
from tests.unit.test_providers_remote import failed, fixture, local, ran, settings

MACOS = {"uname -s": Result("Darwin\n")}  # provider local is Linux only: it is not asked
MISSING = {f"command -v {cli}": Result(exited=1)
           for cli in ("colima", "docker-machine", "boot2docker", "vagrant", "docker")}
VAGRANT_STATUS = "VAGRANT_CWD=/srv/devnet vagrant status --machine-readable default"


def choose(**answers):
    ctx = local({**MACOS, **MISSING, **answers})
    return providers.choose(ctx, settings(provider="auto", vagrant={"dir": "/srv/devnet"})), ctx


def test_nothing_installed_means_the_sim():
    (name, why), ctx = choose()
    assert name == "sim" and why.startswith("no colima, docker-machine, boot2docker or vagrant")
    assert ran(ctx) == [f"command -v {cli}" for cli in
                        ("colima", "docker-machine", "boot2docker", "vagrant", "docker",
                         "docker")] + \
        ["uname -s"]


def test_a_running_colima_profile_is_chosen_first():
    (name, why), ctx = choose(**{"command -v colima": Result("/opt/homebrew/bin/colima\n"),
                                 "colima list --json": fixture("colima-list.json"),
                                 "command -v vagrant": Result("/usr/bin/vagrant\n"),
                                 VAGRANT_STATUS: fixture("vagrant-status-running.txt")})
    assert (name, why) == ("colima", "colima: profile devnet is Running at 192.168.106.2 "
                                     "(colima list --json)")
    assert "command -v vagrant" not in ran(ctx)  # the first that runs wins


def test_an_installed_cli_whose_vm_is_down_is_passed_over():
    (name, why), _ = choose(**{
        "command -v colima": Result("/opt/homebrew/bin/colima\n"),
        "colima list --json": fixture("colima-list.json").replace('"Running"', '"Stopped"'),
        "command -v docker-machine": Result("/usr/local/bin/docker-machine\n"),
        "docker-machine status devnet": fixture("docker-machine-status.txt")})
    assert (name, why) == ("docker-machine", "docker-machine: machine devnet is Running "
                                             "(docker-machine status devnet)")


@pytest.mark.parametrize("status, chosen", [("running", "vagrant"), ("poweroff", "sim"),
                                            ("not-created", "sim")])
def test_vagrant_counts_only_when_its_machine_runs(status, chosen):
    (name, _), _ = choose(**{"command -v vagrant": Result("/usr/bin/vagrant\n"),
                             VAGRANT_STATUS: fixture(f"vagrant-status-{status}.txt")})
    assert name == chosen


def test_a_cli_that_fails_is_passed_over():
    (name, why), _ = choose(**{
        "command -v colima": Result("/opt/homebrew/bin/colima\n"),
        "colima list --json": failed("FATA[0000] error retrieving instances\n"),
        "command -v boot2docker": Result("/usr/local/bin/boot2docker\n"),
        "boot2docker --vm=boot2docker-vm status": Result("running\n")})
    assert (name, why) == ("boot2docker", "boot2docker: VM boot2docker-vm is running "
                                          "(boot2docker --vm=boot2docker-vm status)")


def test_a_vm_wins_over_docker_on_this_machine(monkeypatch):
    monkeypatch.setattr(LocalProvider, "detect",
                        classmethod(lambda cls, c, s: "local: Docker answers"))
    assert choose()[0] == ("local", "local: Docker answers")
    (name, _), _ = choose(**{"command -v vagrant": Result("/usr/bin/vagrant\n"),
                             VAGRANT_STATUS: fixture("vagrant-status-running.txt")})
    assert name == "vagrant"


def test_docker_desktop_is_chosen_before_docker_on_this_machine():
    (name, why), ctx = choose(**{"command -v docker": Result("/usr/local/bin/docker\n"),
                                 "docker context inspect": Result(text(
                                     "orbstack-context-inspect.json")),
                                 "docker version": Result(text("docker-desktop-version.txt"))})
    assert name == "desktop" and "Docker Desktop 4.33.0" in why


def test_orbstack_gets_its_own_provider_which_adds_only_what_is_missing():
    """OrbStack already routes to its containers and names them (*.orb.local): auto picks
    provider orbstack (reach native), not the tunnel and not the sim."""
    (name, why), _ = choose(**{"command -v docker": Result("/usr/local/bin/docker\n"),
                               "docker context inspect": Result(text(
                                   "orbstack-context-inspect.json")),
                               "docker version": Result(text("linux-dockerd-version.txt"))})
    assert name == "orbstack" and "docker context 'orbstack'" in why
