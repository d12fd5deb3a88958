"""The counting relay: bytes each way through a real HTTP exchange on loopback."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from photodup.bench.relay import CountingRelay

_REPLY = b"x" * 50_000


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(_REPLY)))
        self.end_headers()
        self.wfile.write(_REPLY)

    def log_message(self, *args: object) -> None:
        pass


def test_relay_counts_payload_and_framing_each_way() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    body = b"y" * 200_000
    try:
        with CountingRelay("127.0.0.1", server.server_address[1]) as relay:
            with httpx.Client(base_url=f"http://127.0.0.1:{relay.port}") as client:
                for _ in range(3):
                    assert client.post("/embed", content=body).content == _REPLY
            sent, received = relay.sent, relay.received
            relay.reset()
            assert (relay.sent, relay.received) == (0, 0)
    finally:
        server.shutdown()
        server.server_close()
    # Payload plus HTTP headers: more than the bodies, by less than 1 kB per request.
    assert 3 * len(body) < sent < 3 * (len(body) + 1000)
    assert 3 * len(_REPLY) < received < 3 * (len(_REPLY) + 1000)
