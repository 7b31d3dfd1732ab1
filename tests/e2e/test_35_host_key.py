"""The VM's SSH host key is pinned: a VM that answers with another key (another machine on
that address) is refused with what to do, over a real SSH connection to the VM's sshd."""

import subprocess

import pytest

pytestmark = [
    pytest.mark.qemu_proves(
        "the pinned host key is devnet's SSH client's check: the same whatever VM answers"),
    pytest.mark.route_only("a Desktop VM has no SSH, so no host key to pin"),
]

def test_another_host_key_is_refused(cli, provider, devnet_up, tmp_path):
    known = provider.known_hosts
    pinned = known.read_text()
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)],
                   check=True)
    kind, key = other.with_suffix(".pub").read_text().split()[:2]
    known.write_text("".join(f"{line.split()[0]} {kind} {key}\n"
                             for line in pinned.splitlines()))
    try:
        out = cli("vm.hostonly", check=False)
        assert out.returncode == 1
        assert f"is not the one devnet pinned in {known}" in out.stderr, out.stderr
        assert "next: devnet made this VM's host key itself" in out.stderr
        assert "Traceback" not in out.stderr
    finally:
        known.write_text(pinned)
    assert "already done" in cli("vm.hostonly").stdout
