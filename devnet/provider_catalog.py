"""The providers devnet knows, as data: their names, where each one's class lives, their
own settings with defaults, and auto's order. Config validates settings against it and
devnet.providers loads classes from it; it imports nothing, so both can ask it."""

# name -> "module:Class"; imported only when asked for (each pulls in its own needs).
REGISTRY = {
    "sim": "devnet.providers.sim.provider:SimProvider",
    "local": "devnet.providers.local.provider:LocalProvider",
    "vagrant": "devnet.providers.cli.vagrant:VagrantProvider",
    "boot2docker": "devnet.providers.cli.boot2docker:Boot2DockerProvider",
    "docker-machine": "devnet.providers.cli.docker_machine:DockerMachineProvider",
    "colima": "devnet.providers.cli.colima:ColimaProvider",
    "qemu": "devnet.providers.qemu.provider:QemuProvider",
    "guest": "devnet.providers.local.provider:GuestProvider",
    "desktop": "devnet.providers.desktop.desktop:DesktopProvider",
    "sim-desktop": "devnet.providers.desktop.sim:SimDesktopProvider",
    "orbstack": "devnet.providers.desktop.orbstack:OrbStackProvider",
}
# Each provider's own settings (devnet.<provider>.*, `-` spelled `_` in invoke.yaml) and their
# defaults; config.load validates them. Names end up in command lines (vagrant's machine,
# colima's profile), so they are checked like names, except FREE_OPTIONS (commands, paths, URLs).
OPTIONS = {
    "vagrant": {"machine": "default", "dir": "", "cpus": "2", "memory_mb": "1024"},
    "boot2docker": {"vm": "boot2docker-vm"},
    "docker-machine": {"machine": "devnet", "driver": "virtualbox"},
    "colima": {"profile": "devnet"},
    "local": {"docker_host": "unix:///var/run/docker.sock", "docker_service": ""},
    # docker_host "": the docker context's; dial: which tunnel end dials (devnet.tunnel.dial)
    "desktop": {"docker_host": "", "udp_port": "51820", "dial": "vm"},
    "qemu": {"accel": "auto", "memory_mb": "1536", "cpus": "2", "boot_timeout": "300",
             "shutdown_timeout": "60", "image_cache": "/var/cache/devnet/images",
             "runas": "auto"},
}
FREE_OPTIONS = {("vagrant", "dir"), ("local", "docker_host"), ("local", "docker_service"),
                ("desktop", "docker_host"),
                ("qemu", "image_cache")}
# Settings that are counts (CPUs, MiB, seconds): positive whole numbers.
NUMERIC_OPTIONS = {("vagrant", "cpus"), ("vagrant", "memory_mb"), ("qemu", "cpus"),
                   ("qemu", "memory_mb"), ("qemu", "boot_timeout"), ("qemu", "shutdown_timeout")}
# guest: devnet inside the VM, run by the VM's own provisioning; auto: chosen at `up`
NAMES = ("auto", *REGISTRY)
# provider=auto asks these in order: a real VM a person set up wins over Docker on this
# machine, and the sim is the fallback (it needs nothing but root on Linux).
AUTO_ORDER = ("colima", "docker-machine", "boot2docker", "vagrant", "orbstack", "desktop",
              "local")
