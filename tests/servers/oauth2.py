"""A fake OAuth2 token introspection endpoint for tests: what Dovecot's oauth2 passdb asks.

It lives apart from `dovecot.py` because it is a server of its own (a ThreadingHTTPServer
on a free loopback port); `DovecotServer(token_issuer=...)` starts and stops it.
"""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.servers.ports import free_port


class TokenIssuer:
    """A fake OAuth2 token introspection endpoint (RFC 7662) for Dovecot's oauth2 passdb.

    `issue(user)` hands out a bearer token that Dovecot will accept for that user until
    `revoke(token)`; every token Dovecot asks about is recorded in `asked`.
    """

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.asked: list[str] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def issue(self, user: str) -> str:
        token = secrets.token_urlsafe(24)
        self.tokens[token] = user
        return token

    def revoke(self, token: str) -> None:
        self.tokens.pop(token, None)

    def start(self) -> None:
        if self._httpd is not None:
            return
        self._httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), _introspection_handler(self))
        self.url = f"http://127.0.0.1:{self._httpd.server_port}/introspect"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
            self._thread.join()

    def answer(self, token: str) -> dict:
        self.asked.append(token)
        user = self.tokens.get(token)
        return {"active": True, "username": user} if user else {"active": False}


def _introspection_handler(issuer: TokenIssuer) -> type[BaseHTTPRequestHandler]:
    class Introspection(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            form = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            fields = dict(pair.partition("=")[::2] for pair in form.split("&"))
            body = json.dumps(issuer.answer(fields.get("token", ""))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            # Keep the test output clean; Dovecot's own log records the logins.
            pass

    return Introspection
