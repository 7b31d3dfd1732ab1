"""Docker on this machine, no VM (provider `local`), and inside the VM itself (`guest`, what
the Vagrantfile's provisioner runs)."""
