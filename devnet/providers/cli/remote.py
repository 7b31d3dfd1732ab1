"""What the VMs that a CLI manages (vagrant, boot2docker, docker-machine, colima) share: the
CLI runs through an Invoke Context on the developer's machine (`self.local`), its output says
what state the VM is in and how to reach it over SSH, and Fabric does the reaching."""

from __future__ import annotations

import ipaddress
import shlex
from abc import abstractmethod
from pathlib import Path

import paramiko
from fabric import Connection
from invoke import Context
from invoke.exceptions import CommandTimedOut

from devnet.errors import DevnetError
from devnet.host import os_adapter
from devnet.host.sudo import as_root_unattended
from devnet.providers import socket_forward
from devnet.providers.base import Piece, Provider
from devnet.providers.cli import virtualbox_ranges
from devnet.providers.cli.ssh_target import HostKeyChanged, SshTarget, parse_exports
from devnet.system import REMOTE_TIMEOUT, cmd, wait_until

NOT_FOUND = 127  # the shell's exit status for a program it cannot find
# The VM's public host keys (OpenSSH's place, and Tiny Core's /usr/local for boot2docker).
HOST_KEYS = ("cat /etc/ssh/ssh_host_*_key.pub /usr/local/etc/ssh/ssh_host_*_key.pub "
             "2>/dev/null; true")


class RemoteProvider(Provider):
    """A VM its own CLI creates, starts, stops and removes; devnet reaches it over SSH.
    Subclasses set `label` (the VM in the CLI's terms) and say their CLI's arguments."""

    install_hint = ""  # how to get `cli`
    up_state = "running"  # the CLI's word for a running VM, in lower case
    docker_restart = "systemctl restart docker"  # run as root in the VM
    stop_before_destroy = False
    docker_over_ssh = False  # the Docker API through an `ssh -L` unix socket (never TCP)
    env_hint: str | None = None  # what to do when the CLI's env command fails
    connect_timeout = 5
    label = "the VM"

    @property
    def docker_sock(self) -> Path:
        return self.settings.state_dir / "docker.sock"

    @property
    def known_hosts(self) -> Path:
        """The VM's host key, pinned at first contact (SshTarget.pinned)."""
        return self.settings.state_dir / "known_hosts"

    @property
    def forward_pidfile(self) -> Path:
        return self.settings.state_dir / "docker-forward.pid"

    def __init__(self, settings, local=None):
        super().__init__(settings)
        self.local = local or Context()

    @abstractmethod
    def commands(self) -> dict[str, tuple]:
        """The CLI's arguments for status, create, start, stop, destroy and ssh."""

    @abstractmethod
    def parse_state(self, text: str) -> str | None:
        """The VM's state from the status command's output; None: not created."""

    @abstractmethod
    def ssh_target(self) -> SshTarget:
        """Where the CLI says its VM's sshd is (host keys not pinned yet)."""

    def cli_ssh_args(self, line: str) -> tuple:
        """The CLI's arguments that run the shell command `line` in the VM over its own ssh."""
        return (*self.commands()["ssh"], line)

    def vm_host_keys(self) -> str:
        """The VM's public host keys, read through the CLI's own ssh: the channel the tool
        itself trusts, at devnet's first contact with the VM."""
        return self.run_cli(*self.cli_ssh_args(HOST_KEYS)).stdout

    def host_key_hint(self) -> str:
        return f"if you re-created the VM yourself: rm {self.known_hosts}, then invoke vm.up"

    def pinned_target(self) -> SshTarget:
        """ssh_target() with the VM's host key pinned: every connection checks it."""
        return self.ssh_target().pinned(self.known_hosts, self.vm_host_keys)

    def cli_env(self) -> dict[str, str]:
        return {}

    # -- the CLI -------------------------------------------------------------------------

    def line(self, *args) -> str:
        """The exact command line that runs (and that --dry-run shows)."""
        env = [f"{key}={shlex.quote(value)}" for key, value in self.cli_env().items()]
        return " ".join([*env, cmd(self.cli, *args)])

    def action_line(self, action: str) -> str:
        return self.line(*self.commands()[action])

    def missing_cli(self) -> DevnetError:
        return DevnetError(f"provider {self.name} needs `{self.cli}`, which is not installed "
                           "on this machine", self.install_hint)

    def cli_installed(self) -> bool:
        return self.local.run(f"command -v {self.cli}", hide=True, warn=True).ok

    def uses_virtualbox(self) -> bool:
        """The VM is (or will be) VirtualBox's: its host-only range is VirtualBox's to allow."""
        return False

    def preflight(self) -> None:
        if not self.cli_installed():
            raise self.missing_cli()
        if self.uses_virtualbox() and not self.exists():  # before anything is created
            virtualbox_ranges.check(self.local, self.settings.hostonly.network)

    def run_cli(self, *args, hint: str | None = None, check: bool = True):
        line = self.line(*args)
        out = self.local.run(line, hide=True, warn=True, in_stream=False)
        if out.exited == NOT_FOUND:
            raise self.missing_cli()
        if check and out.failed:
            raise cli_failed(line, out, hint)
        return out

    def vm_state(self) -> str | None:
        args = self.commands()["status"]
        out = self.run_cli(*args, check=False)
        if out.failed and "not exist" in out.stderr:  # boot2docker, docker-machine: no VM
            return None
        if out.failed:
            raise cli_failed(self.line(*args), out)
        return self.parse_state(out.stdout)

    def is_up(self, state: str | None) -> bool:
        return (state or "").lower() == self.up_state

    @classmethod
    def detect(cls, local, settings) -> str | None:
        try:
            provider = cls(settings, local=local)
            return provider.why_running() if provider.cli_installed() else None
        except Exception:  # auto only asks: any failure means "not this one"
            return None

    def why_running(self) -> str | None:
        state = self.vm_state()
        if not self.is_up(state):
            return None
        return f"{self.cli}: {self.label} is {state} ({self.action_line('status')})"

    # -- the lifecycle -------------------------------------------------------------------

    def act(self, action: str) -> str:
        """Run one of commands(); return its line, for the step's report."""
        self.run_cli(*self.commands()[action])
        return self.action_line(action)

    def exists(self) -> bool:
        return self.vm_state() is not None

    def plan_create(self) -> list[str]:
        return [self.action_line("create")]

    def plan_start(self) -> list[str]:
        return [self.action_line("start")]

    def create(self) -> str:
        return f"{self.label} ({self.act('create')})"

    def start(self) -> str:
        how = "was running" if self.is_up(self.vm_state()) else self.act("start")
        hint = f"{self.action_line('status')}; invoke status"
        wait_until(self.ssh_answers, self.settings.start_timeout, f"SSH into {self.label}", hint,
                   pause=1)
        if self.docker_over_ssh:
            self.forward_docker()
        wait_until(self.docker_answers, self.settings.start_timeout, f"dockerd in {self.label}",
                   hint, pause=1)
        return f"{self.label} up ({how}), SSH and Docker answer"

    @property
    def forward_log(self) -> Path:
        return self.settings.state_dir / "docker-forward.log"

    def forward_docker(self) -> int:
        """The VM's Docker socket here, through `ssh -L` (docker_over_ssh providers)."""
        target = self.pinned_target()
        argv = socket_forward.ssh_argv(self.docker_sock, f"{target.user}@{target.host}",
                                       target.port, target.keys, target.known_hosts)
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        return socket_forward.start(argv, self.docker_sock, self.forward_pidfile,
                                    self.forward_log)

    def running(self) -> bool:
        return self.is_up(self.vm_state()) and self.ssh_answers() and self.docker_answers()

    def stop(self) -> str:
        socket_forward.stop(self.forward_pidfile, self.docker_sock)
        if not self.is_up(self.vm_state()):
            return f"{self.label} already stopped"
        return f"stopped {self.label} ({self.act('stop')})"

    def destroy(self) -> str:
        socket_forward.stop(self.forward_pidfile, self.docker_sock)
        self.known_hosts.unlink(missing_ok=True)  # a new VM has a new host key
        self.forward_log.unlink(missing_ok=True)  # the VM's forward has no more to say
        if not self.exists():
            return f"{self.label} already gone"
        if self.stop_before_destroy:
            self.stop()
        return f"removed {self.label} ({self.act('destroy')})"

    # -- reaching the VM -----------------------------------------------------------------

    def connection(self) -> Connection:
        state = self.vm_state()
        if not self.is_up(state):
            raise DevnetError(f"{self.name}: {self.label} is {state or 'not created'}, not "
                              "running, so devnet cannot SSH into it", "invoke vm.up")
        return self.pinned_target().connect(self.connect_timeout)

    def vm_command(self, line: str):
        """Run one command in the VM as root (sudo -n for the CLI's own non-root login)."""
        target = self.pinned_target()
        conn = target.connect(self.connect_timeout)
        try:
            return conn.run(as_root_unattended(conn.user, line),
                            hide=True, warn=True, in_stream=False, timeout=REMOTE_TIMEOUT)
        except CommandTimedOut as err:
            raise DevnetError(f"in {self.label}, `{line}` did not finish within "
                              f"{REMOTE_TIMEOUT}s", "invoke status") from err
        except paramiko.BadHostKeyException as err:
            raise HostKeyChanged(str(target), str(self.known_hosts),
                                 self.host_key_hint()) from err
        except (OSError, EOFError, paramiko.SSHException) as err:
            raise DevnetError(f"cannot reach {self.label} over SSH ({target}): {err}",
                              "invoke vm.up   (then `invoke status`)") from err
        finally:
            conn.close()

    def ssh_answers(self) -> bool:
        try:
            return self.vm_command("true").ok
        except HostKeyChanged:
            raise  # waiting longer will not change the key
        except Exception:  # not up yet: refused, timed out, no config from the CLI yet
            return False

    def restart_docker(self) -> str:
        out, hint = self.vm_command(self.docker_restart), f"{self.ssh_command()}   (dockerd's log)"
        if out.failed:
            raise DevnetError(f"in the VM, `{self.docker_restart}` failed ({out.exited}): "
                              f"{out.stderr.strip()}", hint)
        wait_until(self.docker_answers, 60, "dockerd to answer after its restart", hint, pause=0.5)
        return f"restarted dockerd ({self.docker_restart})"

    def env(self) -> dict[str, str]:
        """DOCKER_HOST (and TLS settings) from the CLI's own `export` lines, where it prints
        them (commands()["env"]: boot2docker shellinit, docker-machine env)."""
        args = self.commands().get("env")
        if not args:
            return super().env()
        env = parse_exports(self.run_cli(*args, hint=self.env_hint).stdout)
        if "DOCKER_HOST" not in env:
            raise DevnetError(f"`{self.line(*args)}` printed no DOCKER_HOST", self.env_hint)
        return env

    def docker_url(self) -> str:
        if self.docker_over_ssh:
            return f"unix://{self.docker_sock}"
        return self.env()["DOCKER_HOST"]

    def host(self):
        return self.local  # the developer's own machine

    def hostonly_link(self) -> str | None:
        """The VirtualBox/libvirt/vmnet link on the host: the one the host's route to the VM
        leaves by directly (no gateway), from a host-only address where devnet knows the
        network (so never a VPN's tunnel that took the VM's address over)."""
        try:
            vm = self.gateway()
            route = os_adapter(self.local).route_get(self.local, vm)
        except DevnetError:
            return None
        net = self.settings.hostonly.network
        src = route.get("prefsrc")  # Linux names the source address; macOS does not
        if route.get("gateway") or (src and ipaddress.ip_address(vm) in net
                                    and ipaddress.ip_address(src) not in net):
            return None
        return route.get("dev")

    def ssh_command(self) -> str:
        return self.action_line("ssh")

    def status(self) -> list[Piece]:
        try:
            state = self.vm_state()
        except DevnetError as err:
            return [Piece(self.cli, False, err.what)]
        pieces = [Piece(self.cli, self.is_up(state), f"{self.label}: {state or 'not created'}")]
        if not self.is_up(state):
            return pieces + [Piece(name, False, "VM not running") for name in ("ssh", "docker")]
        return pieces + [Piece("ssh", self.ssh_answers(), detail(lambda: str(self.ssh_target()))),
                         Piece("docker", self.docker_answers(), detail(self.docker_url))]


def cli_failed(line: str, out, hint: str | None = None) -> DevnetError:
    """The tool's complaint, and the last lines it printed before it: vagrant puts its summary
    ("The SSH command responded with a non-zero exit status") on stderr and what failed (a
    provisioner's own error) on stdout."""
    said = (out.stderr or out.stdout).strip()
    before = out.stdout.strip().splitlines()[-12:] if out.stderr and out.stdout else []
    tail = "\n  last output:\n" + "\n".join(f"    {ln}" for ln in before) if before else ""
    return DevnetError(f"`{line}` failed ({out.exited}): {said}{tail}",
                       hint or f"run `{line}` yourself to see all it says")


def detail(describe) -> str:
    """What `describe()` says, or why it could not say it."""
    try:
        return describe()
    except DevnetError as err:
        return err.what
