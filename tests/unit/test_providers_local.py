"""provider local: Docker on this Linux machine, its service manager through MockContext."""

import pytest
from invoke import MockContext, Result

from devnet import config
from devnet.errors import DevnetError
from devnet.providers.local.provider import LocalProvider
from devnet.steps.vm import VmForward, VmHostOnly
from tests.unit.conftest import devnet_with_vm


def local(run, **options):
    settings = config.load({"provider": "local", "local": options, "start_timeout": 0.3})
    ctx = MockContext(run=run, repeat=True)
    ctx._set(user="root")
    return LocalProvider(settings, local=ctx)


def test_systemd_machines_restart_docker_with_systemctl():
    p = local({"test -d /run/systemd/system": Result(""), "systemctl restart docker": Result("")})
    assert p.service_argv("restart") == "systemctl restart docker"
    p.docker_answers = lambda: True
    assert p.restart_docker() == "restarted dockerd"


def test_sysv_and_openrc_machines_use_their_own_service_command():
    no = Result("", exited=1)
    sysv = local({"test -d /run/systemd/system": no, "test -x /etc/init.d/docker": Result("")})
    assert sysv.service_argv("start") == "service docker start"
    openrc = local({"test -d /run/systemd/system": no, "test -x /etc/init.d/docker": no,
                    "command -v rc-service": Result("/sbin/rc-service")})
    assert openrc.service_argv("stop") == "rc-service docker stop"


def test_a_configured_service_command_wins_and_none_found_is_a_clear_error():
    assert local({}, docker_service="/opt/bin/dockerctl").service_argv("restart") == \
        "/opt/bin/dockerctl restart"
    no = Result("", exited=1)
    bare = local({"test -d /run/systemd/system": no, "test -x /etc/init.d/docker": no,
                  "command -v rc-service": no})
    with pytest.raises(DevnetError, match="set devnet.local.docker_service"):
        bare.service_argv("restart")
    assert bare.plan_start() == [
        "cannot start dockerd: no systemd, /etc/init.d/docker or rc-service here"]


def test_a_failing_service_command_says_what_failed_and_a_non_root_user_gets_sudo():
    p = local({"sudo -n svc restart": Result("", stderr="Job failed", exited=1)},
              docker_service="svc")
    p.local._set(user="dev")
    with pytest.raises(DevnetError, match=r"`sudo -n svc restart` failed \(1\): Job failed"):
        p.restart_docker()


def test_local_has_no_vm_to_create_and_refuses_macos():
    p = local({"command -v dockerd": Result("", exited=1), "uname -s": Result("Darwin\n")})
    assert not p.exists()
    with pytest.raises(DevnetError, match="apt-get install -y docker.io"):
        p.create()
    with pytest.raises(DevnetError, match="on macOS use provider colima"):
        p.preflight()
    assert p.destroy() == "nothing to remove: provider local has no VM"
    assert LocalProvider.detect(p.local, p.settings) is None


def test_stop_leaves_a_docker_that_is_down_alone():
    p = local({})
    p.docker_answers = lambda: False
    assert p.stop() == "already stopped"


def test_the_vm_steps_skip_without_a_vm(settings):
    dn = devnet_with_vm(settings)
    dn.provider = local({})
    assert VmHostOnly(dn).check() == "no VM: no host-only network"
    assert VmForward(dn).check() == "no VM: the host reaches containers on its own bridge"
    assert dn.provider.resolver_link() == "docker0"
