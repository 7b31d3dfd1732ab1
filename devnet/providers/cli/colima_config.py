"""colima's own configuration as the place for devnet's dockerd settings.

colima generates the VM's /etc/docker/daemon.json from the `docker` section of the profile's
colima.yaml at every `colima start` (colima's FAQ, "How to customize Docker config":
`colima start --edit`, then the `docker` section; abiosoft/colima#185: a daemon.json edited
in the VM is reset on restart). So devnet writes bip/dns in both: the VM's daemon.json, for
now, and colima.yaml's `docker` section, for every later start: what `colima start --edit`
would do, without an editor. `down` puts colima.yaml back exactly.
"""

from __future__ import annotations

import re
from pathlib import Path

from invoke.util import yaml

from devnet.errors import DevnetError
from devnet.providers.dockerd_settings import DaemonJson

KEYS = ("bip", "dns")
SECTION = re.compile(r"^docker:")


def docker_section(text: str) -> dict:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise DevnetError(f"colima.yaml is not valid YAML ({err})",
                          "colima start --edit   (fix it), then run again") from err
    section = data.get("docker") if isinstance(data, dict) else None
    return section if isinstance(section, dict) else {}


def with_docker_section(text: str, docker: dict) -> str:
    """`text` with its top-level `docker:` entry (`docker: {}` or an indented block) replaced
    by `docker`; every other line, comments included, kept as it is."""
    block = "docker: {}\n" if not docker else "docker:\n" + "".join(
        "  " + ln + "\n" for ln in yaml.safe_dump(docker, default_flow_style=False,
                                                  sort_keys=False).splitlines())
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if SECTION.match(ln)), None)
    if start is None:
        return text + ("" if not text or text.endswith("\n") else "\n") + block
    end = start + 1
    while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():  # blank lines belong to what follows
        end -= 1
    return "".join(lines[:start]) + block + "".join(lines[end:])


class ColimaConfig(DaemonJson):
    where = "colima.yaml's docker section and /etc/docker/daemon.json"

    def __init__(self, dn, path: Path):
        super().__init__(dn)
        self.path = path

    def _yaml(self) -> str | None:
        return self.path.read_text() if self.path.exists() else None

    def settings(self) -> dict:
        """daemon.json's bip/dns where colima.yaml says the same: what survives a restart."""
        kept = docker_section(self._yaml() or "")
        return {k: v for k, v in super().settings().items() if k not in KEYS or kept.get(k) == v}

    def journal_args(self) -> dict:
        return {**super().journal_args(), "colima_yaml": self._yaml()}

    def write(self, values: dict) -> None:
        if self._yaml() is None:
            raise DevnetError(f"colima has no {self.path}: the profile was not started yet",
                              "invoke vm.up")
        super().write(values)
        text = self._yaml()
        self.path.write_text(with_docker_section(text, {**docker_section(text), **values}))

    def restore(self, args: dict) -> None:
        super().restore(args)
        previous, now = args.get("colima_yaml"), self._yaml()
        if previous is None or now is None:
            return
        before = docker_section(previous)
        ours = {k: v for k, v in docker_section(now).items() if k in KEYS}
        if now == with_docker_section(previous, {**before, **ours}):
            self.path.write_text(previous)  # nothing else changed since: the exact file back
            return
        # the user edited it since: take back only devnet's keys
        docker = {k: v for k, v in docker_section(now).items() if k not in KEYS}
        docker.update({k: before[k] for k in KEYS if k in before})
        self.path.write_text(with_docker_section(now, docker))
