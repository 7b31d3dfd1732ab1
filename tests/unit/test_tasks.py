"""The task surface: every task listed, each with help text for itself and its flags."""

import subprocess
import sys
from pathlib import Path

import pytest

from devnet import caller

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import tasks  # noqa: E402

EXPECTED = {"up", "down", "status", "env", "doctor", "vm.init", "vm.up", "vm.ssh",
            "vm.hostonly", "vm.forward", "vm.halt", "net.route", "net.watch", "docker.configure",
            "dns.start", "dns.stop", "dns.status", "dns.logs", "dns.resolver", "vpn.fix",
            "vpn.restore", "vpn.sim.connect", "vpn.sim.disconnect", "sim.shell", "test.unit",
            "test.e2e", "test.all", "test.lint", "test.image", "tunnel.helper", "tunnel.link",
            "tunnel.dns"}


def all_tasks():
    return {name: tasks.ns[name] for name in tasks.ns.task_names}


def test_every_expected_task_is_there():
    assert EXPECTED <= set(all_tasks())


@pytest.mark.parametrize("name", sorted(tasks.ns.task_names))
def test_each_task_has_help_for_itself_and_its_flags(name):
    task = tasks.ns[name]
    assert task.__doc__ and task.__doc__.strip()
    # `invoke --list` shows a task's first line alone: a sentence cut there reads as garbage
    summary = task.__doc__.strip().splitlines()[0]
    assert summary.endswith((".", ")")), f"{name}: first line is not a whole sentence"
    for arg in task.get_arguments():
        assert arg.help, f"{name} --{arg.name} has no help"


def test_changing_steps_offer_dry_run():
    for name in ("up", "down", "vm.init", "vm.up", "vm.hostonly", "vm.forward", "vm.halt",
                 "net.route", "docker.configure", "dns.start", "dns.resolver", "vpn.fix",
                 "vpn.restore", "tunnel.helper", "tunnel.link", "tunnel.dns"):
        flags = {a.name for a in tasks.ns[name].get_arguments()}
        assert "dry_run" in flags, name


def test_invoke_list_and_help_run():
    invoke = [sys.executable, "-m", "invoke"]
    listing = subprocess.run([*invoke, "--list"], cwd=ROOT, capture_output=True, text=True)
    assert listing.returncode == 0 and "vm.hostonly" in listing.stdout
    helped = subprocess.run([*invoke, "-h", "up"], cwd=ROOT, capture_output=True, text=True)
    assert "--dry-run" in helped.stdout and "print the plan" in helped.stdout


def test_bad_settings_exit_with_a_message_not_a_traceback():
    env = {"INVOKE_DEVNET_HOSTONLY_VM_IP": "10.1.1.1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "invoke", "up", "--dry-run"], cwd=ROOT,
                         capture_output=True, text=True, env=env)
    assert out.returncode == 1
    assert "devnet: invalid settings" in out.stderr and "Traceback" not in out.stderr


def test_lint_and_unit_tests_run_as_the_user_behind_sudo(monkeypatch):
    caller.caller.cache_clear()
    monkeypatch.setattr(caller, "caller", lambda: "dev")
    monkeypatch.setattr(caller.pwd, "getpwnam", lambda user: type("P", (), {"pw_dir": "/h/dev"}))
    assert caller.as_caller("python -m pytest tests/unit") == \
        "runuser -u dev -- env HOME=/h/dev USER=dev LOGNAME=dev python -m pytest tests/unit"
    monkeypatch.setattr(caller, "caller", lambda: None)  # not root, or root with no one behind
    assert caller.as_caller("ruff check") == "ruff check"


def test_no_caller_without_sudo(monkeypatch):
    monkeypatch.delenv("SUDO_USER", raising=False)
    caller.caller.cache_clear()
    try:
        assert caller.caller() is None
    finally:
        caller.caller.cache_clear()
