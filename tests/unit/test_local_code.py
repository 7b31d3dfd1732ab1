"""provider local's DNS service runs only root-owned code: the copy, the interpreter, the
path chain checks (real `stat` output), and that the copy is complete enough to run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from invoke import MockContext, Result

from devnet.errors import DevnetError
from devnet.providers.local import code as local_code
from tests.unit.conftest import fixture_text


def test_the_chain_is_every_directory_down_to_the_path():
    assert local_code.chain("/usr/local/lib/devnet/x/devnet/dns/service.py")[:4] == [
        "/", "/usr", "/usr/local", "/usr/local/lib"]


def test_a_root_owned_chain_is_safe_and_a_users_or_a_world_writable_one_is_not():
    assert local_code.unsafe(fixture_text("stat-chain-root.txt")) == []
    assert local_code.unsafe(fixture_text("stat-chain-user.txt")) == [
        "/tmp (owner 0:0, mode 1777)", "/tmp/fs-stat/ck (owner 65534:65534, mode 755)"]
    assert local_code.unsafe("0 50 2775 /usr/local\n0 0 775 /opt\n") == [
        "/usr/local (owner 0:50, mode 2775)"]  # Debian's staff group may write there


def test_sources_are_devnet_and_the_services_packages_only():
    names = sorted(p.name for p in local_code.sources())
    assert names == sorted(["devnet", "dns", "docker", "requests", "urllib3", "certifi",
                            "charset_normalizer", "idna"])
    assert not any(n.endswith(".dist-info") for n in names)


def test_the_interpreter_is_the_real_python_not_the_venvs_link():
    assert local_code.interpreter() == os.path.realpath(sys.executable)
    assert not Path(local_code.interpreter()).is_symlink()


def test_install_replaces_the_copy_whole_then_checks_the_chains(monkeypatch):
    dest = "/usr/local/lib/devnet/dntest"
    new = "/usr/local/lib/devnet/.dntest.new"
    srcs = " ".join(str(p) for p in local_code.sources())
    stat = "stat -c '%u %g %a %n' "
    c = MockContext()
    seen = []

    def run(line, **kw):
        seen.append(line)
        if line == "id -u":
            return Result("0\n")
        if line.startswith(stat):
            return Result("".join(f"0 0 755 {p}\n" for p in line[len(stat):].split()))
        return Result("")

    c.run = run
    assert local_code.install(c, "dntest") == (local_code.interpreter(), dest)
    assert seen[1:8] == [f"rm -rf {new}", f"mkdir -p {new}", f"cp -R {srcs} {new}",
                         f"chown -R 0:0 {new}", f"chmod -R go-w {new}", f"rm -rf {dest}",
                         f"mv {new} {dest}"]
    assert seen[8].startswith(f"{stat}/ /usr /usr/local ") and \
        seen[8].endswith(f"{dest}/devnet/dns/service.py")

    def user_owned(line, **kw):
        return Result("0 0 755 /\n1000 1000 755 /home/dev\n") if line.startswith(stat) \
            else Result("")

    c.run = user_owned
    with pytest.raises(DevnetError, match=r"code a non-root user can change: /home/dev "
                                          r"\(owner 1000:1000, mode 755\)"):
        local_code.install(c, "dntest")


def test_the_copy_runs_the_service_with_the_base_python_alone(tmp_path):
    """What the unit runs: the base interpreter, -s, only the copy on PYTHONPATH."""
    subprocess.run(["cp", "-R", *map(str, local_code.sources()), str(tmp_path)], check=True)
    out = subprocess.run(
        [local_code.interpreter(), "-s", "-c",
         "import devnet.dns.service, devnet.dns.supervise, docker, dns.message; "
         "print(devnet.dns.service.__file__)"],
        env={"PYTHONPATH": str(tmp_path), "PATH": os.environ["PATH"]}, capture_output=True,
        text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(tmp_path / "devnet/dns/service.py")
