"""VMs without a host-only network, reached through the WireGuard tunnel (devnet.tunnel):
Docker Desktop, Rancher Desktop and Podman machine (`desktop`), and the simulation of such a
VM that the e2e suite runs on (`sim-desktop`)."""
