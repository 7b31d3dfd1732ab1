"""devnet.dns.store and devnet.dns.etcd.*: checked before anything changes, and the DNS
service's flags that follow from them."""

import pytest

from devnet import config
from devnet.dns import control
from devnet.errors import ConfigError


def load(dns):
    return config.load({"instance": "ab12", "state_dir": "/tmp/x", "dns": dns})


def test_memory_is_the_default_and_adds_no_flags():
    s = load({})
    assert s.dns.store == "memory" and "--store" not in control.service_args(s)


def test_etcd_flags_follow_the_settings():
    s = load({"store": "etcd", "etcd": {
        "endpoints": ["https://10.1.0.1:2379", "https://10.1.0.2:2379"], "prefix": "/skydns-t1",
        "lease_ttl": 5, "ca": "/etc/devnet/ca.pem", "cert": "/etc/devnet/c.pem",
        "key": "/etc/devnet/k.pem"}})
    args = control.service_args(s)
    tail = args[args.index("--store"):]
    assert tail == ["--store", "etcd", "--etcd-prefix", "/skydns-t1", "--etcd-host", "ab12",
                    "--etcd-lease-ttl", "5", "--etcd-endpoint", "https://10.1.0.1:2379",
                    "--etcd-endpoint", "https://10.1.0.2:2379", "--etcd-ca", "/etc/devnet/ca.pem",
                    "--etcd-cert", "/etc/devnet/c.pem", "--etcd-key", "/etc/devnet/k.pem"]


@pytest.mark.parametrize("dns, says", [
    ({"store": "redis"}, "devnet.dns.store: 'redis' is not memory or etcd"),
    ({"store": "etcd"}, "etcd.endpoints is empty (nothing is written to etcd without them)"),
    ({"etcd": {"endpoints": ["10.0.0.1:2379"]}}, "'10.0.0.1:2379' is not http(s)://host:port"),
    ({"etcd": {"prefix": "skydns"}}, "devnet.dns.etcd.prefix: 'skydns' must be an absolute"),
    ({"etcd": {"prefix": "/a//b"}}, "must be an absolute key path"),
    ({"etcd": {"lease_ttl": 1}}, "lease_ttl: 1 must be whole seconds, 2 to 3600"),
    ({"etcd": {"cert": "/c.pem"}}, "cert and key go together"),
    ({"etcd": {"ca": "/ca.pem", "endpoints": ["http://10.0.0.1:2379"]}}, "not https://"),
    ({"etcd": {"endpoint": "x"}}, "devnet.dns.etcd.endpoint: unknown setting"),
    ({"store": "etcd", "etcd": {"endpoints": ["http://e:2379"], "host": "VM_A"}},
     "devnet.dns.etcd.host: 'vm_a' must be one short DNS label"),
])
def test_bad_settings_are_refused_with_the_reason(dns, says):
    with pytest.raises(ConfigError, match="invalid settings") as err:
        load(dns)
    assert says in str(err.value)
