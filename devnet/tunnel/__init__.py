"""Reach through a WireGuard tunnel, for VMs without a host-only network (Docker Desktop,
Rancher Desktop, Podman machine): the tunnel takes the host-only network's place.

The host-only settings keep their meaning: the host's end of the tunnel is
devnet.hostonly.host_ip, the VM's end devnet.hostonly.vm_ip, so the route, vpn.fix and
net.watch work on the tunnel's interface exactly as on a host-only adapter.

- keys.py    the instance's key pairs and the host's wg config, 0600 in the state dir
- image.py   the helper image's root filesystem, built offline (busybox, wireguard-go, wg,
             iptables) and `docker import`ed
- keeper.py  the host-side process that re-handshakes when the VM's end comes back

The steps are in devnet/steps/: tunnel_helper.py (the VM's end, a container on the VM's
network), tunnel_link.py (the host's end, wireguard-go and its keeper), tunnel_dns.py (the DNS
service as a container through the Docker API).
"""
