"""Typed, validated settings, read from Invoke's config tree (`devnet:`: the defaults of
devnet/defaults.py and the provider registry, then invoke.yaml, ~/.invoke.yaml, INVOKE_DEVNET_*).

Validation runs before any step changes anything: a bad CIDR, overlapping subnets or a VM
address outside the host-only network is reported in full, with the setting to fix.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from devnet import provider_catalog
from devnet.defaults import DEVNET
from devnet.dns import store_config
from devnet.dns.names import valid_name
from devnet.dns.store_config import Etcd
from devnet.errors import ConfigError
from devnet.paths import PROJECT_DIR
from devnet.subnets import not_private, overlaps
from devnet.tunnel.dial import DIALS

PROVIDERS = provider_catalog.NAMES  # the registry's, plus auto
# devnet.reach: how the host reaches containers (native: the engine's own route, OrbStack's)
REACH = ("auto", "route", "tunnel", "native")
IMAGE_RE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]{0,254}$")
OPTION_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
INSTANCE_RE = re.compile(r"^[a-z][a-z0-9]{1,7}$")
IFACE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")


def defaults() -> dict:
    """The whole `devnet:` tree of defaults, as Invoke's config gets it (tasks.py): the table in
    devnet.defaults plus each provider's own settings from the registry. Every key is there, so
    every setting can be overridden with INVOKE_DEVNET_* (Invoke maps only keys it knows)."""
    tree = copy.deepcopy(DEVNET)
    for name, options in provider_catalog.OPTIONS.items():
        tree[name.replace("-", "_")] = dict(options)
    return tree


def with_defaults(given, table: dict = DEVNET) -> dict:
    """`given` over `table`, section by section: a key not given takes its default."""
    merged = copy.deepcopy(table)
    for key, value in dict(given or {}).items():
        if isinstance(table.get(key), dict) and hasattr(value, "items"):
            merged[key] = with_defaults(value, table[key])
        else:
            merged[key] = value
    return merged


def default_instance(project_dir: Path = PROJECT_DIR) -> str:
    """A short name unique per checkout, so two clones on one machine never collide."""
    return "dn" + hashlib.sha1(str(project_dir).encode()).hexdigest()[:6]


def default_state_dir(instance: str) -> Path:
    """/var/lib/devnet/<instance> as root; a person's own state dir otherwise (macOS, or a
    Linux laptop where only some commands go through sudo)."""
    if os.geteuid() == 0:
        return Path("/var/lib/devnet") / instance
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local/state"
    return Path(base) / "devnet" / instance


@dataclass(frozen=True)
class HostOnly:
    network: ipaddress.IPv4Network
    host_ip: ipaddress.IPv4Address
    vm_ip: ipaddress.IPv4Address
    vm_iface: str

    @property
    def host_cidr(self) -> str:
        return f"{self.host_ip}/{self.network.prefixlen}"

    @property
    def vm_cidr(self) -> str:
        return f"{self.vm_ip}/{self.network.prefixlen}"


@dataclass(frozen=True)
class Dns:
    domain: str = DEVNET["dns"]["domain"]
    environment: str = DEVNET["dns"]["environment"]
    ttl: int = DEVNET["dns"]["ttl"]
    # empty: the VM's real resolvers (dns/vm_resolvers.py)
    upstream: tuple[str, ...] = tuple(DEVNET["dns"]["upstream"])
    resolver: str = DEVNET["dns"]["resolver"]  # how the host is pointed at devnet's DNS
    image: str = DEVNET["dns"]["image"]  # base of the DNS container, in VMs without Python
    runtime: str = DEVNET["dns"]["runtime"]  # process | container | auto: the provider's choice
    store: str = DEVNET["dns"]["store"]  # memory | etcd: where the records live
    etcd: Etcd = Etcd()


@dataclass(frozen=True)
class Settings:
    provider: str
    instance: str
    state_dir: Path
    hostonly: HostOnly
    docker_subnets: tuple[ipaddress.IPv4Network, ...]
    bip: ipaddress.IPv4Interface = ipaddress.ip_interface(DEVNET["docker"]["bip"])
    dns: Dns = Dns()
    start_timeout: float = float(DEVNET["start_timeout"])
    watch: bool = DEVNET["watch"]  # `up` also starts net.watch in the background
    reach: str = DEVNET["reach"]  # route | tunnel | native | auto (the provider's own way)
    options: dict = field(default_factory=dict, compare=False)  # per provider, with defaults
    chosen_because: str = ""  # provider=auto: why this provider
    raw: dict = field(default_factory=dict, compare=False)  # as given: for child processes

    @property
    def vm_ip(self) -> str:
        return str(self.hostonly.vm_ip)

    @property
    def dns_ip(self) -> str:
        return str(self.bip.ip)

    @property
    def journal_path(self) -> Path:
        return self.state_dir / "journal.json"


def _network(value, setting: str, problems: list[str]):
    try:
        net = ipaddress.ip_network(str(value), strict=True)
    except ValueError as err:
        problems.append(f"{setting}: {value!r} is not a network in CIDR form ({err})")
        return None
    if net.version != 4:
        problems.append(f"{setting}: {value} is IPv6; devnet routes IPv4 networks")
        return None
    return net


def _address(value, setting: str, problems: list[str]):
    try:
        addr = ipaddress.ip_address(str(value))
    except ValueError:
        problems.append(f"{setting}: {value!r} is not an IPv4 address")
        return None
    return addr


def load(tree) -> Settings:
    """Build Settings from the `devnet` config mapping; raise ConfigError listing every problem."""
    given = dict(tree or {})
    tree = with_defaults(given)
    problems: list[str] = []
    provider = str(tree["provider"] or DEVNET["provider"])
    if provider not in PROVIDERS:
        problems.append(f"devnet.provider: {provider!r} is not one of {', '.join(PROVIDERS)}")
    instance = str(tree["instance"] or default_instance())
    if not INSTANCE_RE.match(instance):
        problems.append(
            f"devnet.instance: {instance!r} must be 2-8 lower-case letters or digits, "
            "starting with a letter (it prefixes interface names, which Linux caps at 15)"
        )
    state_dir = Path(str(tree["state_dir"] or default_state_dir(instance)))
    if not state_dir.is_absolute():
        problems.append(f"devnet.state_dir: {state_dir} must be an absolute path")

    ho = with_defaults(tree["hostonly"], DEVNET["hostonly"])
    net = _network(ho["network"], "devnet.hostonly.network", problems)
    host_ip = _address(ho["host_ip"], "devnet.hostonly.host_ip", problems)
    vm_ip = _address(ho["vm_ip"], "devnet.hostonly.vm_ip", problems)
    vm_iface = str(ho["vm_iface"])
    if not IFACE_RE.match(vm_iface):
        problems.append(f"devnet.hostonly.vm_iface: {vm_iface!r} is not an interface name")
    if net and host_ip and vm_ip:
        for name, addr in (("host_ip", host_ip), ("vm_ip", vm_ip)):
            if addr not in net or addr in (net.network_address, net.broadcast_address):
                problems.append(
                    f"devnet.hostonly.{name}: {addr} is not a usable address of {net}"
                )
        if host_ip == vm_ip:
            problems.append(f"devnet.hostonly: host_ip and vm_ip are both {vm_ip}")

    docker = with_defaults(tree["docker"], DEVNET["docker"])
    raw_subnets = docker["subnets"]
    if isinstance(raw_subnets, str):
        raw_subnets = [raw_subnets]
    subnets = []
    for i, raw in enumerate(raw_subnets):
        sub = _network(raw, f"devnet.docker.subnets[{i}]", problems)
        if sub and not_private(sub):
            problems.append(f"devnet.docker.subnets[{i}]: {not_private(sub)}")
        elif sub:
            subnets.append(sub)
    if not subnets and not problems:
        problems.append("devnet.docker.subnets: at least one Docker subnet is needed")
    problems += overlaps([("devnet.hostonly.network", net)] if net else [], subnets)

    bip = None
    try:
        bip = ipaddress.ip_interface(str(docker["bip"]))
    except ValueError:
        problems.append(f"devnet.docker.bip: {docker.get('bip')!r} is not address/prefix")
    if bip and subnets and not any(bip.network.subnet_of(s) for s in subnets if s.version == 4):
        problems.append(f"devnet.docker.bip: {bip} is not inside devnet.docker.subnets, "
                        "so the host would have no route to the bridge (and the DNS on it)")
    dns_settings = _dns(with_defaults(tree["dns"], DEVNET["dns"]), problems, instance)

    reach = str(tree["reach"])
    if reach not in REACH:
        problems.append(f"devnet.reach: {reach!r} is not one of {', '.join(REACH)}")
    options = _options(given, problems)
    timeout = tree["start_timeout"]
    try:
        timeout = float(timeout)
    except (TypeError, ValueError):
        problems.append(f"devnet.start_timeout: {timeout!r} is not a number of seconds")
    if problems:
        raise ConfigError(
            "invalid settings:\n  - " + "\n  - ".join(problems),
            "fix them in invoke.yaml (or the matching INVOKE_DEVNET_* variable) and run again",
        )
    return Settings(
        provider=provider,
        instance=instance,
        state_dir=state_dir,
        hostonly=HostOnly(net, host_ip, vm_ip, vm_iface),
        docker_subnets=tuple(subnets),
        bip=bip,
        dns=dns_settings,
        start_timeout=timeout,
        watch=bool(tree["watch"]),
        reach=reach,
        options=options,
        raw=_plain(given),
    )


def _options(tree, problems: list[str]) -> dict:
    """devnet.<provider>.* merged over the catalogue's defaults (provider_catalog.OPTIONS);
    names must be safe to pass to a CLI."""
    options = {}
    for provider, defaults in provider_catalog.OPTIONS.items():
        # either spelling; `docker-machine` (only ever written by a person) wins
        given = {**dict(tree.get(provider.replace("-", "_")) or {}),
                 **dict(tree.get(provider) or {})}
        for key in given.keys() - defaults.keys():
            problems.append(f"devnet.{provider}.{key}: unknown setting (known: "
                            f"{', '.join(defaults)})")
        merged = {k: str(given.get(k, v) if given.get(k) is not None else v)
                  for k, v in defaults.items()}
        for key, value in merged.items():
            if (provider, key) in provider_catalog.FREE_OPTIONS:
                if "\n" in value or "\0" in value:
                    problems.append(f"devnet.{provider}.{key}: must be one line")
            elif (provider, key) in provider_catalog.NUMERIC_OPTIONS:
                if not _count(value):
                    problems.append(f"devnet.{provider}.{key}: {value!r} must be a whole "
                                    "number above 0")
            elif not OPTION_NAME_RE.match(value):
                problems.append(f"devnet.{provider}.{key}: {value!r} must be letters, digits, "
                                "'.', '_' or '-' (it is passed to the provider's command line)")
        options[provider] = merged
    desk = options["desktop"]
    if desk["dial"] not in DIALS:
        problems.append(f"devnet.desktop.dial: {desk['dial']!r} is not one of {', '.join(DIALS)}")
    if not 0 < _count(desk["udp_port"]) < 65536:
        problems.append(f"devnet.desktop.udp_port: {desk['udp_port']!r} is not a UDP port")
    dh = options["local"]["docker_host"]
    if not dh.startswith(("unix:///", "tcp://")):
        problems.append(f"devnet.local.docker_host: {dh!r} must be unix:///path or tcp://host:port")
    return options


def _count(value: str) -> int:
    """A setting that is a whole number: its value, or 0 when it is not one. ASCII digits
    only: str.isdigit() also takes '²' (which int() refuses) and other scripts' digits."""
    return int(value) if value.isascii() and value.isdigit() else 0


def _plain(tree) -> dict:
    """Invoke's config proxies as plain dicts and lists (JSON-able)."""
    if hasattr(tree, "items"):
        return {str(k): _plain(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [_plain(v) for v in tree]
    return tree


def _dns(tree: dict, problems: list[str], instance: str = "") -> Dns:
    domain = str(tree["domain"]).lower().strip(".")
    env = str(tree["environment"]).lower()
    if not valid_name(domain):
        problems.append(f"devnet.dns.domain: {domain!r} is not a usable DNS domain")
    if not valid_name(env) or "." in env:
        problems.append(f"devnet.dns.environment: {env!r} must be one DNS label")
    ttl = tree["ttl"]
    if not isinstance(ttl, int) or not 0 <= ttl <= 86400:
        problems.append(f"devnet.dns.ttl: {ttl!r} must be whole seconds, 0 to 86400")
    upstream = tree.get("upstream") or []
    upstream = [upstream] if isinstance(upstream, str) else list(upstream)
    for spec in upstream:
        host, _, port = str(spec).partition(":")
        try:
            ipaddress.IPv4Address(host)
            if port and not 0 < int(port) < 65536:
                raise ValueError
        except ValueError:
            problems.append(f"devnet.dns.upstream: {spec!r} is not ip or ip:port")
    resolver = str(tree["resolver"])
    if resolver not in ("auto", "resolvconf", "resolved", "resolverdir"):
        problems.append(f"devnet.dns.resolver: {resolver!r} is not auto, resolvconf, resolved "
                        "or resolverdir")
    image = str(tree["image"])
    if not IMAGE_RE.match(image):
        problems.append(f"devnet.dns.image: {image!r} is not an image reference")
    runtime = str(tree["runtime"])
    if runtime not in ("auto", "process", "container"):
        problems.append(f"devnet.dns.runtime: {runtime!r} is not auto, process or container")
    store, etcd = store_config.parse(tree.get("etcd"), tree.get("store"), problems, instance)
    return Dns(domain, env, ttl if isinstance(ttl, int) else Dns.ttl, tuple(map(str, upstream)),
               resolver, image, runtime, store, etcd)
