"""devnet's DNS service: names from Docker, a zone, a server, an upstream forwarder."""

# What devnet.dns.service imports where it runs (dnspython, docker) and what they need: the
# qemu image and the local provider's code copy install these from requirements.lock.
VM_REQUIREMENTS = ("dnspython", "docker", "requests", "urllib3", "certifi",
                   "charset-normalizer", "idna")
