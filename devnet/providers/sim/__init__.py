"""The simulated VM: network namespaces stand in for the developer's machine and the VM, with
a real dockerd, sshd and upstream DNS inside (provider `sim`)."""
