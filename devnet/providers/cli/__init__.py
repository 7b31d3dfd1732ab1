"""VMs a person already runs, reached over SSH and asked through their own CLI: vagrant,
boot2docker, docker-machine, colima (base: remote.RemoteProvider, ssh_target.SshTarget)."""
