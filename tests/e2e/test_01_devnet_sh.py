"""./devnet.sh itself: only what needs root runs as root, and the apt policy file it puts
in place is gone again even when apt fails.

Each run happens in a private mount namespace (unshare -m), so nothing here touches the
machine's own files: a stand-in virtualenv is bind-mounted over the checkout's .venv (its
`invoke` prints who runs it), an empty directory over /usr/sbin (where the policy goes), and
stand-ins for dpkg-query and apt-get come first on PATH.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.e2e.machine import ROOT

pytestmark = pytest.mark.sim_only("devnet.sh on this machine, no VM involved")


@pytest.fixture
def stage():
    """A world-readable scratch dir (the calling user `nobody` must read it)."""
    d = Path(tempfile.mkdtemp(prefix="devnet-sh-"))
    os.chmod(d, 0o755)
    venv = d / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin/python").symlink_to("/usr/bin/python3")
    (venv / "bin/invoke").write_text('#!/bin/sh\necho "invoke as $(id -un): $*"\n')
    os.chmod(venv / "bin/invoke", 0o755)
    shutil.copy(ROOT / "requirements.lock", venv / ".devnet-installed")
    fake = d / "bin"
    fake.mkdir()
    for name, body in (("dpkg-query", 'echo "install ok installed"'),
                       ("apt-get", 'test -x /usr/sbin/policy-rc.d && echo "policy in place"\n'
                                   "exit 100")):
        (fake / name).write_text(f"#!/bin/sh\n{body}\n")
        os.chmod(fake / name, 0o755)
    for path in d.rglob("*"):
        if not path.is_symlink():
            os.chmod(path, os.stat(path).st_mode | 0o055)
    yield d
    shutil.rmtree(d)


def devnet_sh(stage, *args, sudo_user=None, mounts=()):
    env = {k: v for k, v in os.environ.items() if k not in ("SUDO_USER", "SUDO_UID")}
    env["PATH"] = f"{stage / 'bin'}:{env['PATH']}"
    if sudo_user:
        env["SUDO_USER"] = sudo_user
    binds = [(stage / "venv", os.path.realpath(ROOT / ".venv")), *mounts]
    script = " && ".join(f'mount --bind "${2 * i + 1}" "${2 * i + 2}"' for i in range(len(binds)))
    argv = ["unshare", "-m", "--propagation", "private", "sh", "-c",
            f'{script} && shift {2 * len(binds)} && exec "$@"', "sh",
            *[str(p) for pair in binds for p in pair], str(ROOT / "devnet.sh"), *args]
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args, sudo_user, runs_as", [
    (["--list"], "nobody", "nobody"),
    (["env"], "nobody", "nobody"),
    (["test.unit", "--args", "-k resolver"], "nobody", "nobody"),
    (["test.lint"], "nobody", "nobody"),
    (["up"], "nobody", "root"),
    (["test.lint", "down"], "nobody", "root"),
    (["--list"], None, "root"),  # CI: root, no sudo, no one else to be
])
def test_only_what_needs_root_runs_as_root(stage, args, sudo_user, runs_as):
    out = devnet_sh(stage, *args, sudo_user=sudo_user)
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"invoke as {runs_as}: {' '.join(args)}\n"
    if runs_as == "nobody":
        assert "devnet: running as nobody (this needs no root)" in out.stderr


def test_the_policy_file_goes_even_when_apt_fails(stage):
    sbin = stage / "sbin"
    sbin.mkdir()
    (stage / "bin/dpkg-query").write_text("#!/bin/sh\nexit 1\n")  # nothing installed
    out = devnet_sh(stage, "--list", mounts=[(sbin, "/usr/sbin")])
    assert out.returncode == 100, out.stdout + out.stderr
    assert "devnet: installing " in out.stdout and "policy in place" in out.stdout
    assert list(sbin.iterdir()) == []  # no policy-rc.d left to block service starts
