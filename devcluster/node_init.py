"""pid 1 of a real node's pid and mount namespaces (`python -m devcluster.node_init READY`).

Everything of the node (containerd, its shims, the containers, kubelet, kube-proxy) runs
below it, so when it ends the kernel kills them all and their mounts go with the namespace:
a stopped or crashed test leaves no process and no mount behind. It reaps orphans, as an init
must, and exits on SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PRIVATE_FOLDERS = ("/run/netns", "/run/containerd", "/var/lib/cni")


def main() -> None:
    ready = Path(sys.argv[1])
    # containerd pins each pod's network namespace under /run/netns: keep those in this mount
    # namespace only, so the host's /run/netns never sees them.
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "mode=755", "node-netns", "/run/netns"], check=True
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ready.write_text(str(os.getpid()))
    while True:
        try:
            os.wait()
        except ChildProcessError:
            time.sleep(1)


if __name__ == "__main__":
    main()
