"""A real VM under QEMU/KVM (provider `qemu`): the image builder, the boot, the guest's
files and the tap link, on the simulated developer machine."""
