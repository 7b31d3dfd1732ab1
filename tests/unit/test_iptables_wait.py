"""Every iptables command devnet runs, on the host or in the VM, waits for the xtables lock
(`-w`) instead of failing when dockerd, a VPN client or firewalld holds it at that moment."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# cmd("iptables", ...), vm_run("iptables", ...), ["ip", "netns", "exec", ns, "iptables", ...]
CALL = re.compile(r'(?:\b(?:cmd|vm_run)\(|exec", [\w.]+,)\s*"iptables"\s*,(?!\s*"-w")')
LINE = re.compile(r'\biptables (?!-w\b)-')  # "iptables -t ..." in a command string


def test_every_iptables_call_waits_for_the_lock():
    sources = [*(ROOT / "devnet").rglob("*.py"), *(ROOT / "tests/e2e").rglob("*.py"),
               ROOT / "bench/reference.sh", ROOT / "Vagrantfile", ROOT / "devnet.sh"]
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for path in sources for n, line in enumerate(path.read_text().splitlines(), 1)
             if (CALL.search(line) or LINE.search(line)) and not line.lstrip().startswith("#")]
    assert found == []
