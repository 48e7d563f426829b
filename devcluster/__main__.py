"""`python -m devcluster build|images|up`: build the pinned binaries or the images, or run the local stack."""

from __future__ import annotations

import argparse
import contextlib
import signal
import tempfile
import threading
from pathlib import Path

from devcluster import building, cluster, gateway_api, images, prometheus


def _up(workdir: Path) -> None:
    cp = cluster.start(workdir / "cluster")
    prom = None
    try:
        for crd in gateway_api.crd_files():
            cp.kubectl("apply", "--server-side", "-f", str(crd))
        prom = prometheus.start(workdir / "prometheus")
        print(f"kube-apiserver: {cp.server}")
        print(f"prometheus:     {prom.url}")
        print(
            f"try:            {cp.bin_dir / 'kubectl'} --kubeconfig {cp.kubeconfig} get nodes,deploy -A"
        )
        print("Ctrl-C stops everything.", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    finally:
        if prom is not None:
            prom.stop()
        cp.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="codemode-devcluster", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "build", help="build the control-plane binaries into the cache (once per version)"
    )
    sub.add_parser(
        "images",
        help="build the images of images/Dockerfile and the registry storage the real node pulls from",
    )
    sub.add_parser("bin-dir", help="print the folder holding the binaries")
    up = sub.add_parser("up", help="start the control plane and Prometheus until Ctrl-C")
    up.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    if args.command == "build":
        print(building.build_all())
        print(building.coredns_binary())
        print(building.prometheus_binary())
    elif args.command == "images":
        print(images.build_all())
    elif args.command == "bin-dir":
        print(building.bin_dir())
    else:
        _up(args.workdir or Path(tempfile.mkdtemp(prefix="codemode-devcluster-")))


if __name__ == "__main__":
    main()
