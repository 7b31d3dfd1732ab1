"""The registry: every configured name maps to a Provider, and provider=auto's choice is kept
for `down` in the state dir."""

from dataclasses import replace

import pytest

from devnet import config, providers
from devnet.providers.base import Provider


@pytest.mark.parametrize("name", sorted(providers.REGISTRY))
def test_every_name_is_a_provider_with_that_name(name):
    cls = providers.provider_class(name)
    assert issubclass(cls, Provider) and cls.name == name


def test_every_configurable_provider_is_registered():
    assert set(config.PROVIDERS) - {"auto"} == set(providers.REGISTRY)


def test_auto_uses_what_the_last_up_chose(tmp_path, monkeypatch):
    settings = config.load({"provider": "auto", "instance": "au", "state_dir": str(tmp_path)})
    monkeypatch.setattr(providers, "choose", lambda local, s: ("local", "Docker answers"))
    p = providers.get(settings)
    assert p.name == "local" and p.settings.chosen_because == "auto: Docker answers"
    providers.chosen_file(settings).write_text("sim\n")
    p = providers.get(settings)
    assert p.name == "sim" and "the last `up` used it" in p.settings.chosen_because


def test_a_named_provider_is_taken_as_is(tmp_path):
    settings = config.load({"instance": "au", "state_dir": str(tmp_path)})
    p = providers.get(replace(settings, provider="local"))
    assert p.name == "local" and p.settings.chosen_because == ""
