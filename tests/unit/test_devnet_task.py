"""@devnet_task: the one place a task's Devnet is made and closed, errors shown as messages."""

import inspect

import pytest
from invoke import Config, MockContext
from invoke.exceptions import Exit

from devnet.core import Devnet
from devnet.errors import DevnetError
from devnet.tasks.common import devnet_task


class Conn:
    """A VM connection that counts its closes."""

    def __init__(self):
        self.closed = 0

    def close(self):
        self.closed += 1


def context(tmp_path) -> MockContext:
    cfg = Config(overrides={"devnet": {"provider": "sim", "instance": "dntest",
                                       "state_dir": str(tmp_path / "state")}})
    return MockContext(config=cfg)


def test_the_body_gets_a_devnet_invoke_sees_only_the_flags(tmp_path):
    seen = {}

    @devnet_task(help={"dry-run": "plan only"})
    def body(c, dn, dry_run=False):
        """Help."""
        seen.update(dn=dn, dry_run=dry_run)
        return "said"

    assert list(inspect.signature(body.body).parameters) == ["c", "dry_run"]
    assert [a.name for a in body.get_arguments()] == ["dry_run"]
    assert body(context(tmp_path), dry_run=True) == "said"
    assert isinstance(seen["dn"], Devnet) and seen["dry_run"] is True
    assert seen["dn"].settings.instance == "dntest"


@pytest.mark.parametrize("error", [None, DevnetError("the VM is gone", "invoke vm.up"),
                                   KeyboardInterrupt()])
def test_the_connection_the_body_opened_is_closed_whatever_happens(tmp_path, error):
    conn, got = Conn(), {}

    @devnet_task
    def body(c, dn):
        dn._conn = conn  # as dn.vm() leaves it after connecting
        got["dn"] = dn
        if error:
            raise error

    if isinstance(error, DevnetError):
        with pytest.raises(Exit, match="devnet: the VM is gone") as exit_:
            body(context(tmp_path))
        assert exit_.value.code == 1 and "next: invoke vm.up" in str(exit_.value.message)
    elif error:
        with pytest.raises(KeyboardInterrupt):
            body(context(tmp_path))
    else:
        body(context(tmp_path))
    assert conn.closed == 1 and got["dn"]._conn is None


def test_a_task_without_dn_opens_nothing_and_still_reports_errors(tmp_path, monkeypatch):
    made = []
    monkeypatch.setattr(Devnet, "__init__", lambda *a, **k: made.append(a))

    @devnet_task
    def plain(c, force=False):
        raise DevnetError("bad input")

    with pytest.raises(Exit, match="devnet: bad input"):
        plain(context(tmp_path))
    assert made == []


def test_bad_settings_are_reported_before_the_body_runs(tmp_path):
    ran = []

    @devnet_task
    def body(c, dn):
        ran.append(dn)

    c = MockContext(config=Config(overrides={"devnet": {"instance": "NO"}}))
    with pytest.raises(Exit, match="devnet.instance"):
        body(c)
    assert ran == []


def test_a_session_closes_only_what_was_opened_inside_it(settings):
    with Devnet(settings) as dn:
        outer = dn._conn = Conn()
        with dn.session():  # a net.watch round on a connection opened before it
            pass
        assert outer.closed == 0  # its opener (the `with`) closes it
        with dn.session():
            pass
    assert outer.closed == 1 and dn._conn is None
    with dn.session():
        inner = dn._conn = Conn()
    assert inner.closed == 1 and dn._conn is None
