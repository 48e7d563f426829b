"""`python -m devcluster.whoami --name POD --host IP --port N`: answers every request with its name.

The smallest backend that says which pod a Gateway picked: the tests of the Gateway run it in
pods of a `PodNetwork` (it starts in a fraction of a second, unlike an MCP server).
"""

from __future__ import annotations

import argparse
import socketserver
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    def server_bind(self) -> None:
        # HTTPServer would look up its address's DNS name: a pod has no DNS, so it hangs ~10 s.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = (
            str(self.server_address[0]),
            int(self.server_address[1]),
        )


def handler(name: str) -> type[BaseHTTPRequestHandler]:
    body = name.encode()

    class WhoAmI(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a Gateway's connection pool expects
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed ACK

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # one line per request is noise
            pass

    return WhoAmI


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devcluster.whoami", description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    Server((args.host, args.port), handler(args.name)).serve_forever()


if __name__ == "__main__":
    main()
