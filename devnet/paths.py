"""Where devnet's own checkout is: the code the DNS service, the sim's daemons and the VMs'
images are made from."""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
