"""Every default setting, declared once.

Invoke's config (tasks.py), config.load, the settings dataclasses, dns.names.Naming and the DNS
service's arguments all read this table; invoke.yaml shows the same values with their
documentation (a unit test fails when the two differ). Each provider's own settings are
declared by the provider catalogue (devnet.provider_catalog.OPTIONS), not here. No imports: the DNS
service in the VM reads it too.
"""

DEVNET = {
    "provider": "sim",
    "instance": "",  # "": dn + a hash of the checkout (config.default_instance)
    "state_dir": "",  # "": /var/lib/devnet/<instance> or ~/.local/state/devnet/<instance>
    "start_timeout": 30,
    "watch": True,
    "reach": "auto",  # route | tunnel | auto (the provider's own way)
    "hostonly": {
        "network": "172.16.0.0/16",
        "host_ip": "172.16.0.1",
        "vm_ip": "172.16.0.11",
        "vm_iface": "eth1",
    },
    "docker": {
        "subnets": ["172.17.0.0/16"],
        "bip": "172.17.42.1/16",
    },
    "dns": {
        "domain": "docker",
        "environment": "dev",
        "ttl": 30,
        "upstream": [],
        "resolver": "auto",
        "image": "python:3.11-slim",
        "runtime": "auto",
        "store": "memory",  # memory | etcd (dns/store_config.py)
        "etcd": {
            "endpoints": [],
            "prefix": "/skydns",  # CoreDNS's etcd plugin's default path
            "host": "",  # "": the instance
            "lease_ttl": 10,
            "ca": "",
            "cert": "",
            "key": "",
        },
    },
}
DNS = DEVNET["dns"]
# dockerd's own socket inside the VM, where the DNS service's registrar listens for events
VM_DOCKER_SOCKET = "unix:///var/run/docker.sock"
