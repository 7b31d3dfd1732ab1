"""Where the Docker VM comes from: one interface (base.Provider), one module per kind."""

from __future__ import annotations

from devnet.config import Settings
from devnet.providers.base import Provider


def get(settings: Settings) -> Provider:
    if settings.provider == "sim":
        from devnet.providers.sim import SimProvider

        return SimProvider(settings)
    raise ValueError(f"unknown provider {settings.provider!r}")  # config.load rejects it first
