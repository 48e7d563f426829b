"""nginx in front of both MCP versions, its upstream weights kept equal to the HTTPRoute's.

The operator writes weights into the HTTPRoute; in a cluster a Gateway would apply them. Here a
thread reads the route every 0.5 s and, on a change, rewrites nginx's weighted upstream and runs
`nginx -s reload`. nginx's access log says which upstream served each request.
"""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import kubernetes
import urllib3

from devcluster.processes import ManagedProcess, free_port, spawn, wait_until

NGINX = "/usr/sbin/nginx"
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class WeightChange:
    at: float  # time.monotonic() when nginx's config got these weights (reloaded right after)
    weights: dict[str, int]  # Service name -> weight, as in the HTTPRoute


def route_weights(route: dict[str, Any]) -> dict[str, int]:
    """Service name -> weight of the route's backendRefs (Gateway API's default weight is 1)."""
    # The operator's pin rules (codemode-pin-*) carry no weights: nginx cannot pin anyway.
    rules = [r for r in route.get("spec", {}).get("rules", []) if not r.get("name")]
    weights: Counter[str] = Counter()
    for rule in rules:
        for ref in rule.get("backendRefs", []):
            weights[ref["name"]] += int(ref.get("weight", 1))
    return dict(weights)


def v2_share(weights: dict[str, int], canary: str = "mcp-v2") -> int:
    """The canary's percentage of the traffic under these weights (0 when there are none)."""
    total = sum(weights.values())
    return round(100 * weights.get(canary, 0) / total) if total else 0


def _user_directive() -> str:
    # As root, nginx would hand its workers to `nobody`; keep them as the user running the demo.
    if os.geteuid() != 0:
        return ""
    user = pwd.getpwuid(os.geteuid())
    return f"user {user.pw_name} {grp.getgrgid(user.pw_gid).gr_name};"


def nginx_config(
    prefix: Path, port: int, upstreams: dict[str, int], weights: dict[str, int]
) -> str:
    servers = "\n".join(
        # nginx refuses weight=0: a backend the route gives nothing is `down`.
        f"    server 127.0.0.1:{upstream} "
        + (f"weight={weights[name]}" if weights.get(name) else "down")
        + " max_fails=0;"
        for name, upstream in upstreams.items()
    )
    temp = prefix / "temp"
    return f"""{_user_directive()}
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "logs" / "error.log"} warn;
events {{ worker_connections 512; }}
http {{
  log_format split '$upstream_addr $status';
  access_log {prefix / "logs" / "access.log"} split;
  client_body_temp_path {temp / "body"};
  proxy_temp_path {temp / "proxy"};
  fastcgi_temp_path {temp / "fastcgi"};
  uwsgi_temp_path {temp / "uwsgi"};
  scgi_temp_path {temp / "scgi"};
  upstream mcp {{
{servers}
    keepalive 16;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://mcp;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;  # the MCP servers check Host against loopback
      proxy_buffering off;
      proxy_read_timeout 60s;
    }}
  }}
}}
"""


class Splitter:
    def __init__(
        self, prefix: Path, kubeconfig: Path, namespace: str, route: str, upstreams: dict[str, int]
    ) -> None:
        self.prefix, self.namespace, self.route = prefix, namespace, route
        self.upstreams = upstreams  # Service name -> loopback port of that version
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.changes: list[WeightChange] = []
        self.reload_seconds: list[float] = []
        self._routes = kubernetes.client.CustomObjectsApi(
            kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="splitter", daemon=True)
        self._served: Counter[str] = Counter()
        self._log_offset = 0
        self.nginx: ManagedProcess | None = None
        self.failure = ""

    @property
    def config(self) -> Path:
        return self.prefix / "nginx.conf"

    @property
    def weights(self) -> dict[str, int]:
        return self.changes[-1].weights if self.changes else {}

    def start(self) -> ManagedProcess:
        """nginx up with the route's current weights, and the route followed from now on."""
        for folder in ("logs", "temp"):
            (self.prefix / folder).mkdir(parents=True, exist_ok=True)
        self._write(self._read_route())
        self.nginx = spawn(
            "nginx",
            self._nginx_argv("-g", "daemon off;"),
            self.prefix / "logs",
        )
        nginx = self.nginx
        wait_until(
            "nginx",
            lambda: httpx.get(f"{self.url}/healthz", timeout=2).is_success,
            30,
            alive=nginx.ensure_running,
        )
        self._thread.start()
        return nginx

    def ensure_running(self) -> None:
        if self.failure:
            raise RuntimeError(self.failure)
        if self.nginx is not None:
            self.nginx.ensure_running()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if self.nginx is not None:
            self.nginx.stop()

    def served(self) -> dict[str, int]:
        """Requests nginx has passed to each version so far (Service name -> count)."""
        log = self.prefix / "logs" / "access.log"
        with log.open("rb") as lines:
            lines.seek(self._log_offset)
            chunk = lines.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a half-written last line waits
        self._log_offset += len(complete)
        by_port = {str(port): name for name, port in self.upstreams.items()}
        for line in complete.decode().splitlines():
            # `$upstream_addr` lists every upstream tried; the last one answered.
            port = line.split(" ")[-2].rsplit(":", 1)[-1].rstrip(",")
            self._served[by_port.get(port, "none")] += 1
        return dict(self._served)

    def _nginx_argv(self, *args: str) -> list[str]:
        # -e: nginx opens its error log before reading the config; keep it in the prefix too.
        return [
            NGINX,
            "-p",
            f"{self.prefix}/",
            "-c",
            str(self.config),
            "-e",
            "logs/error.log",
            *args,
        ]

    def _read_route(self) -> dict[str, int]:
        route = self._routes.get_namespaced_custom_object(
            "gateway.networking.k8s.io", "v1", self.namespace, "httproutes", self.route
        )
        return route_weights(route)

    def _write(self, weights: dict[str, int]) -> None:
        self.config.write_text(nginx_config(self.prefix, self.port, self.upstreams, weights))
        self.changes.append(WeightChange(time.monotonic(), weights))

    def _follow(self) -> None:
        # Ends when stop() is called; each reload is bounded by its own timeout.
        while not self._stop.wait(POLL_SECONDS):
            try:
                weights = self._read_route()
            except (kubernetes.client.ApiException, urllib3.exceptions.HTTPError):
                continue  # the API server is busy or stopping: keep the current split
            if weights == self.weights or not any(weights.values()):
                continue
            started = time.monotonic()
            self._write(weights)
            reload = subprocess.run(
                self._nginx_argv("-s", "reload"), capture_output=True, text=True, timeout=10
            )
            if reload.returncode != 0:
                self.failure = f"nginx -s reload failed: {reload.stderr.strip()}"
                return
            self.reload_seconds.append(time.monotonic() - started)
