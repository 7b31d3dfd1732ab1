"""Every default is declared once (devnet/defaults.py, the provider registry's OPTIONS), and
everything that shows or uses one reads it from there: Invoke's config, config.load, the
dataclasses, dns.names.Naming, the DNS service's arguments, invoke.yaml."""

import ipaddress
import json
from dataclasses import replace
from pathlib import Path

from invoke import Config, MockContext
from invoke.util import yaml  # the YAML reader Invoke itself reads invoke.yaml with

from devnet import config, provider_catalog, providers
from devnet.defaults import DEVNET
from devnet.dns import service
from devnet.dns.names import Naming
from devnet.tasks.common import settings_of
from tasks import ns

ROOT = Path(__file__).resolve().parents[2]


def collection_config(tmp_path, monkeypatch, **env) -> Config:
    """Invoke's config as `invoke` builds it for devnet: the collection's defaults (tasks.py),
    then the environment (no project file: tmp_path has none)."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    cfg = Config(project_location=str(tmp_path))
    cfg.load_collection(ns.configuration())
    cfg.load_shell_env()
    return cfg


def test_invoke_yaml_shows_exactly_the_defaults():
    shown = yaml.safe_load((ROOT / "invoke.yaml").read_text())["devnet"]
    assert shown == config.defaults()


def test_the_collection_carries_every_default(tmp_path, monkeypatch):
    cfg = collection_config(tmp_path, monkeypatch)
    assert config._plain(cfg.devnet) == config.defaults()
    s = settings_of(MockContext(config=cfg))
    assert s == config.load({})
    assert s.options == {p: dict(o) for p, o in provider_catalog.OPTIONS.items()}


def test_every_setting_is_overridable_from_the_environment(tmp_path, monkeypatch):
    # qemu's settings were never in invoke.yaml: Invoke maps only keys it knows to variables
    cfg = collection_config(tmp_path, monkeypatch, INVOKE_DEVNET_QEMU_CPUS="4",
                            INVOKE_DEVNET_HOSTONLY_VM_IP="172.16.0.12",
                            INVOKE_DEVNET_DNS_DOMAIN="test")
    s = settings_of(MockContext(config=cfg))
    assert (s.options["qemu"]["cpus"], s.vm_ip, s.dns.domain) == ("4", "172.16.0.12", "test")


def test_dataclasses_naming_and_the_dns_service_read_the_same_defaults():
    s = config.load({})
    dns = DEVNET["dns"]
    assert (s.dns.domain, s.dns.environment, s.dns.ttl) == (dns["domain"], dns["environment"],
                                                            dns["ttl"])
    assert config.Dns() == s.dns
    assert (config.Settings.bip, config.Settings.start_timeout, config.Settings.watch) == (
        s.bip, s.start_timeout, s.watch)
    assert (Naming().domain, Naming().environment) == (s.dns.domain, s.dns.environment)
    args = service.parse([])
    assert (args.listen, args.domain, args.env, args.ttl) == (
        f"{s.dns_ip}:53", s.dns.domain, s.dns.environment, s.dns.ttl)
    assert ipaddress.ip_network(DEVNET["docker"]["subnets"][0]) in s.docker_subnets


def test_config_asks_the_registry_for_providers_and_their_settings():
    assert config.PROVIDERS == ("auto", *providers.REGISTRY)
    assert set(config.load({}).options) == set(provider_catalog.OPTIONS)


def test_env_vagrant_prints_the_effective_settings(tmp_path, monkeypatch, capsys):
    cfg = collection_config(tmp_path, monkeypatch, INVOKE_DEVNET_HOSTONLY_VM_IP="172.16.9.9",
                            INVOKE_DEVNET_HOSTONLY_NETWORK="172.16.0.0/20",
                            INVOKE_DEVNET_HOSTONLY_HOST_IP="172.16.9.1")
    ns["env"](MockContext(config=cfg), vagrant=True)
    got = json.loads(capsys.readouterr().out)
    assert got["hostonly"] == {"network": "172.16.0.0/20", "netmask": "255.255.240.0",
                               "host_ip": "172.16.9.1", "vm_ip": "172.16.9.9",
                               "vm_iface": "eth1"}
    assert got["vagrant"] == provider_catalog.OPTIONS["vagrant"]


def test_a_provider_setting_not_given_is_the_registrys(settings):
    for name, key in (("vagrant", "machine"), ("qemu", "boot_timeout"), ("guest", "docker_host")):
        p = providers.provider_class(name)(replace(settings, provider=name, options={}))
        owner = "local" if name == "guest" else name
        assert p.option(key) == provider_catalog.OPTIONS[owner][key]
