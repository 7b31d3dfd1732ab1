"""What both OS adapters' vpn.fix needs: a firewall listing read as root (missing tool:
None; unreadable: an error, never "nothing blocks"), and devnet's probes run on the host."""

from __future__ import annotations

from devnet.errors import DevnetError
from devnet.host import probe
from devnet.host.sudo import run_as_root


def read_listing(c, line: str) -> str | None:
    out = run_as_root(c, line, hide=True, warn=True)
    if out.ok:
        return out.stdout
    if out.exited == 127 or "not found" in out.stderr:
        return None
    raise DevnetError(f"cannot read the firewall: `{line}` failed: "
                      f"{out.stderr.strip() or out.stdout.strip()}",
                      f"sudo {line}   (devnet needs it to judge; it changed nothing)")


def run_probes(c, probes, trace="", table="") -> tuple[list, str]:
    """(the probes that went unanswered, the nft trace if one was asked for)."""
    out = run_as_root(c, probe.command(probes, trace, table), hide=True, warn=True)
    if out.failed:
        raise DevnetError(f"devnet's probes could not run: {out.stderr.strip()[-300:]}")
    return probe.parse(out.stdout, probes)


def unexplained(failed, why) -> tuple[str, str, dict]:
    said = ", ".join(map(str, failed))
    return ("unexplained", f"firewall: no answer from {said}, and " + (
        f"no verdict: {why}; nothing changed" if why else
        "no firewall rule dropped it (its own accounting says so): not the firewall"), {})
