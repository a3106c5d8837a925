"""TLS in front of a plain simulator: https on 127.0.0.1 with the self-signed certificate in
tests/fixtures/tls (CN and subjectAltName 127.0.0.1, made with `openssl req -x509`), relaying
the bytes to the simulator. A certificate no client trusts, as a staging shop would have."""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading

from tests.paths import FIXTURES

CERT, KEY = FIXTURES / "tls" / "cert.pem", FIXTURES / "tls" / "key.pem"


class TlsFront:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(CERT, KEY)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.handshakes_failed = 0
        self._open = True
        threading.Thread(target=self._accept, daemon=True, name="tls-front").start()

    def _accept(self) -> None:
        while self._open:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshakes_failed += 1  # the client refused our certificate
            conn.close()
            return
        target = ("127.0.0.1", self.target_port)
        with tls, socket.create_connection(target) as up, contextlib.suppress(OSError):
            self._relay(tls, up)

    @staticmethod
    def _relay(tls: ssl.SSLSocket, upstream: socket.socket) -> None:
        while True:
            ready = [tls] if tls.pending() else select.select([tls, upstream], [], [], 30)[0]
            if not ready:
                return
            for source in ready:
                data = source.recv(65536)
                if not data:
                    return
                (upstream if source is tls else tls).sendall(data)

    def close(self) -> None:
        self._open = False
        self.sock.close()
