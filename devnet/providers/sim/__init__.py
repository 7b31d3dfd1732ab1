"""The simulated VM: network namespaces stand in for the developer's machine and the VM, with
a real dockerd and sshd inside (provider `sim`); the qemu provider shares the machine."""
