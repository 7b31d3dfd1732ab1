"""The object every step acts on: settings, provider, journal, host and VM handles."""

from __future__ import annotations

import contextlib
import functools

import paramiko
from invoke.exceptions import CommandTimedOut, UnexpectedExit

from devnet import providers
from devnet.config import Settings
from devnet.errors import DevnetError
from devnet.files import write_atomic_argv
from devnet.host import os_adapter
from devnet.host.sudo import as_root_unattended
from devnet.journal import Journal
from devnet.providers.cli.ssh_target import HostKeyChanged
from devnet.system import REMOTE_TIMEOUT, cmd


class Devnet:
    """Settings, provider, journal and the connections to host and VM. Whoever makes one owns
    it: `with Devnet(settings) as dn:` (or the tasks' @devnet_task) closes the VM connection
    it opened, at the end, whatever happened."""

    def __init__(self, settings: Settings, echo=print):
        self.provider = providers.get(settings)
        self.settings = self.provider.settings  # provider=auto: the chosen one
        self.journal = Journal(settings.journal_path)
        self.echo = echo
        self._conn = None

    @property
    def host(self):
        return self.provider.host()

    @functools.cached_property
    def os(self):
        """The host's OS adapter (devnet.host.linux or .macos): routes, resolver, firewall,
        the same functions on either."""
        return os_adapter(self.host)

    @functools.cached_property
    def gateway(self) -> str | None:
        """Where the host routes the Docker subnets: the VM's host-only address (None: no VM)."""
        return self.provider.gateway() if self.provider.has_vm else None

    def vm(self):
        if self._conn is None:
            self._conn = self.provider.connection()
        return self._conn

    def vm_run(self, *argv, warn: bool = False):
        """Run one command in the VM over SSH, as root (sudo -n for a non-root login)."""
        conn = self.vm()
        line = as_root_unattended(getattr(conn, "user", "root"), cmd(*argv))
        try:
            return conn.run(line, hide=True, warn=warn, in_stream=False, timeout=REMOTE_TIMEOUT)
        except CommandTimedOut as err:
            raise DevnetError(f"in the VM, `{line}` did not finish within {REMOTE_TIMEOUT}s",
                              "invoke status   (is the VM overloaded or hung?)") from err
        except paramiko.BadHostKeyException as err:
            self.close()
            raise HostKeyChanged(f"{conn.host}:{conn.port}",
                                 str(getattr(self.provider, "known_hosts", "known_hosts")),
                                 self.provider.host_key_hint()) from err
        except UnexpectedExit as err:
            res = err.result
            raise DevnetError(
                f"in the VM, `{line}` failed ({res.exited}): {res.stderr.strip()}"
            ) from err
        except (TimeoutError, OSError, EOFError, paramiko.SSHException) as err:
            self.close()
            raise DevnetError(
                f"cannot reach the VM over SSH ({conn.host}:{conn.port}): {err}",
                "invoke vm.up   (then `invoke status` shows which part is down)",
            ) from err

    def vm_write(self, path: str, text: str) -> None:
        """Replace a file in the VM with `text`."""
        self.vm_run(*write_atomic_argv(path, text))

    def vm_read(self, path: str) -> str | None:
        """A file's text in the VM, or None when it does not exist."""
        out = self.vm_run("cat", path, warn=True)
        return out.stdout if out.ok else None

    def __enter__(self) -> Devnet:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def session(self):
        """A scope (one round of net.watch) whose end closes the VM connection opened inside it;
        one that was open before stays open for whoever opened it."""
        opened_before = self._conn is not None
        try:
            yield self
        finally:
            if not opened_before:
                self.close()

    def vm_going_away(self) -> None:
        """The VM is about to stop: drop the connection to it (the next vm() reconnects)."""
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
