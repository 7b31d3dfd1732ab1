"""Keep one process running: restart it when it dies, with back-off; stop it on SIGTERM.

For VMs without systemd (boot2docker, the sim). Writes its own identity to --pidfile and the
child's to --pidfile + ".child" (devnet.procs.Pidfile); the child's output is appended to
--log. The child gets SIGTERM from the kernel when the supervisor dies, however it dies
(killed, OOM): no DNS service outlives its supervisor, still holding port 53.

    python -m devnet.dns.supervise --pidfile P --log L -- COMMAND...
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from devnet.procs import Pidfile, dies_with


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="devnet.dns.supervise")
    p.add_argument("--pidfile", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args(argv if argv is not None else sys.argv[1:])
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    pidfile, childfile = Path(args.pidfile), Path(args.pidfile + ".child")
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    Pidfile(pidfile).record(os.getpid())
    preexec = dies_with(os.getpid())
    stopping = False
    child: subprocess.Popen | None = None

    def stop(_signum, _frame):
        nonlocal stopping
        stopping = True
        if child and child.poll() is None:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    pause = 0.2
    with open(args.log, "ab", buffering=0) as log:
        while not stopping:
            began = time.monotonic()
            child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, preexec_fn=preexec)
            try:
                Pidfile(childfile).record(child.pid)
            except ProcessLookupError:
                pass  # exited at once: the wait below says with what
            code = child.wait()
            if stopping:
                break
            # Healthy for a while: restart at once; crashing in a loop: back off up to 5 s.
            pause = 0.2 if time.monotonic() - began > 30 else min(pause * 2, 5.0)
            log.write(f"supervise: exited with {code}, restarting in {pause:.1f}s\n".encode())
            time.sleep(pause)
    for path in (childfile, pidfile):
        path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
