"""The Vagrantfile is valid for VirtualBox and libvirt (vagrant and vagrant-libvirt come from
Debian, installed by ./devnet.sh), and takes its addresses from devnet's effective settings
(`invoke env --vagrant`: invoke.yaml and INVOKE_DEVNET_* overrides)."""

import os
import shutil
import subprocess
from pathlib import Path

from devnet import workflow

ROOT = Path(__file__).resolve().parents[2]


def validate(directory: Path, provider: str, **devnet_env) -> subprocess.CompletedProcess:
    env = dict(os.environ, **devnet_env, VAGRANT_DEFAULT_PROVIDER=provider,
               VAGRANT_DOTFILE_PATH=str(directory / ".vagrant"), VAGRANT_CHECKPOINT_DISABLE="1")
    args = ["vagrant", "validate"] + (["--ignore-provider"] if provider == "virtualbox" else [])
    return subprocess.run(args, cwd=directory, env=env, capture_output=True, text=True,
                          timeout=120)


def copy(tmp_path: Path, invoke_yaml: str | None = None) -> Path:
    shutil.copy(ROOT / "Vagrantfile", tmp_path / "Vagrantfile")
    (tmp_path / "invoke.yaml").write_text(invoke_yaml or (ROOT / "invoke.yaml").read_text())
    for name in ("tasks.py", "devnet", ".venv"):  # the Vagrantfile asks devnet next to it
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


def test_valid_for_libvirt_and_virtualbox(tmp_path):
    d = copy(tmp_path)
    for provider in ("libvirt", "virtualbox"):  # no VirtualBox here: its block is skipped
        out = validate(d, provider)
        assert out.returncode == 0 and "validated successfully" in out.stdout, out.stderr


def test_addresses_come_from_invoke_yaml(tmp_path):
    assert "172.16." not in (ROOT / "Vagrantfile").read_text()
    # a section left out takes devnet's defaults now, as `invoke up` does; a bad one is refused
    # by devnet's own validation, before vagrant does anything
    broken = copy(tmp_path, "devnet:\n  hostonly:\n    vm_ip: 10.0.0.1\n")
    out = validate(broken, "libvirt")
    assert out.returncode != 0 and "hostonly" in out.stderr


def test_invoke_devnet_overrides_reach_the_vagrantfile(tmp_path):
    d = copy(tmp_path)
    out = validate(d, "libvirt", INVOKE_DEVNET_HOSTONLY_VM_IP="172.16.0.0")
    assert out.returncode != 0 and "devnet.hostonly.vm_ip: 172.16.0.0" in out.stderr


def test_the_vms_size_comes_from_devnets_settings(tmp_path):
    text = (ROOT / "Vagrantfile").read_text()
    assert text.count('Integer(vm.fetch("cpus"))') == 2  # VirtualBox and libvirt alike
    assert text.count('Integer(vm.fetch("memory_mb"))') == 2
    out = validate(copy(tmp_path), "libvirt", INVOKE_DEVNET_VAGRANT_CPUS="0")
    assert out.returncode != 0 and "devnet.vagrant.cpus: '0'" in out.stderr


def test_provisioning_runs_devnets_own_in_vm_steps():
    text = (ROOT / "Vagrantfile").read_text()
    assert "INVOKE_DEVNET_PROVIDER=guest /opt/devnet/bin/invoke vm.provision" in text
    assert "requirements.lock" in text  # the same pinned packages as the host


def test_vm_provision_is_the_in_vm_steps_of_up():
    assert [S.name for S in workflow.UP if S.inside_vm] == [
        "vm.hostonly", "vm.forward", "docker.configure", "dns.start", "tunnel.dns"]
