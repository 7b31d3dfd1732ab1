"""Where the Docker VM comes from: one interface (base.Provider), one module per kind."""

from __future__ import annotations

import importlib
from dataclasses import replace
from typing import TYPE_CHECKING

from invoke import Context

from devnet.errors import DevnetError
from devnet.provider_catalog import AUTO_ORDER, REGISTRY

if TYPE_CHECKING:
    from devnet.config import Settings
    from devnet.providers.base import Provider


def provider_class(name: str) -> type[Provider]:
    module, _, cls = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def choose(local, settings: Settings) -> tuple[str, str]:
    """provider=auto: the first installed and running provider, and why it was chosen."""
    for name in AUTO_ORDER:
        why = provider_class(name).detect(local, settings)
        if why:
            return name, why
    return "sim", ("no colima, docker-machine, boot2docker or vagrant VM is running and no "
                   "Docker answers on this machine: the simulated VM")


def chosen_file(settings: Settings):
    """Where `up` with provider=auto notes its choice, so `down` undoes with the same one."""
    return settings.state_dir / "provider"


def get(settings: Settings, local=None) -> Provider:
    name = settings.provider
    if name == "auto":
        noted = chosen_file(settings)
        if noted.exists():
            name, why = noted.read_text().strip(), f"auto: {noted} says the last `up` used it"
        else:
            name, why = choose(local or Context(), settings)
            why = f"auto: {why}"
        settings = replace(settings, provider=name, chosen_because=why)
    if name not in REGISTRY:
        raise DevnetError(f"unknown provider {name!r}")  # config.load rejects it first
    return provider_class(name)(settings)
