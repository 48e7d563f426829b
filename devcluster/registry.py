"""A real image registry (Debian's docker-registry, the CNCF distribution server) as a process.

The real node pulls every image from it, as a cluster pulls from its team's registry: the
images `make images` built are pushed into a cached storage folder once, and each run serves
that folder read-only at the host end of the node's network.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from devcluster.processes import ManagedProcess, free_port, serving, spawn

BINARY = "docker-registry"


@dataclass
class Registry:
    address: str  # host:port
    process: ManagedProcess

    def stop(self) -> None:
        self.process.stop()


def start(storage: Path, workdir: Path, host: str = "127.0.0.1", readonly: bool = True) -> Registry:
    binary = shutil.which(BINARY)
    if binary is None:
        raise FileNotFoundError("docker-registry not found: run `make images` (installs it)")
    workdir.mkdir(parents=True, exist_ok=True)
    address = f"{host}:{free_port()}"
    config = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(storage)},
            "maintenance": {
                "uploadpurging": {"enabled": False},
                "readonly": {"enabled": readonly},
            },
        },
        "http": {"addr": address},
    }
    path = workdir / "registry.yml"
    path.write_text(yaml.safe_dump(config))
    process = spawn("registry", [binary, "serve", str(path)], workdir / "logs")
    serving(process, f"registry on {address}", f"http://{address}/v2/")
    return Registry(address, process)
