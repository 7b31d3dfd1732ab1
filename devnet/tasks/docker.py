"""docker.*: the VM's Docker daemon."""

from invoke import Collection

from devnet.steps.docker import DockerConfigure
from devnet.tasks.common import step_task

configure = step_task(DockerConfigure)

ns = Collection("docker", configure)
