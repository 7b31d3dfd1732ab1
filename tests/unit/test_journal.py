import json

import pytest

from devnet.errors import DevnetError
from devnet.journal import Journal


def test_record_is_write_ahead_and_kept_once(tmp_path):
    j = Journal(tmp_path / "state" / "journal.json")
    j.record("net.route", dst="172.17.0.0/16", via="172.16.0.11")
    j.record("net.route", dst="172.17.0.0/16", via="172.16.0.11")
    on_disk = json.loads((tmp_path / "state" / "journal.json").read_text())
    assert len(on_disk["entries"]) == 1
    assert on_disk["entries"][0]["args"] == {"dst": "172.17.0.0/16", "via": "172.16.0.11"}


def test_undo_order_is_newest_first(tmp_path):
    j = Journal(tmp_path / "journal.json")
    for step in ("vm.init", "vm.up", "vm.hostonly", "net.route"):
        j.record(step)
    assert [e["step"] for e in j.undo_order()] == ["net.route", "vm.hostonly", "vm.up", "vm.init"]


def test_survives_a_new_process(tmp_path):
    Journal(tmp_path / "journal.json").record("vm.init")
    assert Journal(tmp_path / "journal.json").has("vm.init")


def test_forgetting_the_last_entry_removes_file_and_empty_state_dirs(tmp_path):
    state = tmp_path / "devnet" / "dn1"
    j = Journal(state / "journal.json")
    j.record("vm.init")
    j.record("vm.up")
    j.forget("vm.up")
    assert j.has("vm.init") and not j.has("vm.up")
    j.forget("vm.init")
    assert not state.exists() and not (tmp_path / "devnet").exists()
    assert tmp_path.exists()


def test_a_state_dir_with_other_files_is_kept(tmp_path):
    j = Journal(tmp_path / "journal.json")
    (tmp_path / "keep").write_text("x")
    j.record("vm.init")
    j.forget("vm.init")
    assert (tmp_path / "keep").exists()


def test_no_temporary_file_is_left(tmp_path):
    j = Journal(tmp_path / "journal.json")
    j.record("vm.init")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journal.json"]


def test_a_corrupt_journal_is_a_clear_error(tmp_path):
    (tmp_path / "journal.json").write_text("{not json")
    with pytest.raises(DevnetError, match="is not valid JSON"):
        Journal(tmp_path / "journal.json").entries()


def test_record_first_keeps_the_state_before_devnet_first_changed_it(tmp_path):
    j = Journal(tmp_path / "journal.json")
    j.record_first("dns.resolver", previous="the user's file")
    j.record_first("dns.resolver", previous="devnet's own version")  # a second apply
    assert [e["args"] for e in j.entries()] == [{"previous": "the user's file"}]
    assert j.has_step("dns.resolver") and not j.has_step("net.route")
