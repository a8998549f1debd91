"""Real servers for the delivery tests, on 127.0.0.1: an SMTP server (aiosmtpd; plain, STARTTLS or SSL,
with a certificate made by the ``openssl`` command for the test), and an HTTP server standing in for the
DingTalk and WeCom robot webhooks, which checks DingTalk's signature with the robot's secret itself."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (it is its own CA: the client trusts it through ca_file)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", str(key),
                    "-out", str(cert), "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@dataclass
class Mailbox:
    """What the SMTP server received; addresses in ``refuse`` are refused at RCPT (550)."""

    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    logins: list[tuple[str, str]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # each message's bytes as the server received them
    port: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # aiosmtpd calls it by this name
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.raw.append(envelope.original_content or envelope.content)
        msg = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for _, rcpt, m in self.messages if address in rcpt]


@contextlib.contextmanager
def smtp_server(mode: str = "plain", cert: tuple[Path, Path] | None = None,
                password: str | None = None) -> Iterator[Mailbox]:
    """An aiosmtpd server: ``plain``, ``starttls`` (required) or ``ssl``; with ``password``, AUTH is
    required and only the user "edureport" with that password gets in."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    box = Mailbox(port=free_port())
    kwargs: dict = {}
    if cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert[0]), str(cert[1]))
        kwargs = {"ssl_context": context} if mode == "ssl" else {"tls_context": context, "require_starttls": True}
    if password is not None:
        def check(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() == password
            if ok:
                box.logins.append((auth_data.login.decode(), mechanism))
            return AuthResult(success=ok)
        kwargs |= {"authenticator": check, "auth_required": True}
        if mode == "ssl":  # aiosmtpd counts only STARTTLS as TLS for AUTH; an SSL connection is encrypted throughout
            kwargs["auth_require_tls"] = False
    controller = Controller(box, hostname="127.0.0.1", port=box.port, **kwargs)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@dataclass
class Robots:
    """What the robot webhooks received. Paths: /dingtalk/<name>?access_token=… (signed with
    ``secrets[name]``), /wecom/<name>?key=…; a name in ``broken`` answers HTTP 500, in ``refusing``
    errcode 310000, in ``silent`` nothing at all."""

    secrets: dict[str, str] = field(default_factory=dict)
    received: list[dict] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)
    refusing: set[str] = field(default_factory=set)
    silent: set[str] = field(default_factory=set)  # these never answer (until the test ends)
    base: str = ""
    stop: threading.Event = field(default_factory=threading.Event)

    def of(self, name: str) -> list[dict]:
        return [r for r in self.received if r["robot"] == name]


def _signature_ok(secret: str, query: dict[str, list[str]]) -> bool:
    """DingTalk's check, done independently of edureport: HMAC-SHA256 over "timestamp\\nsecret"."""
    try:
        ts, sign = query["timestamp"][0], query["sign"][0]
    except (KeyError, IndexError):
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest())
    return hmac.compare_digest(expected, sign.encode())  # parse_qs decoded the URL encoding once, as DingTalk does


@contextlib.contextmanager
def robot_server() -> Iterator[Robots]:
    robots = Robots()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # http.server calls it by this name
            url = urlsplit(self.path)
            kind, _, name = url.path.strip("/").partition("/")
            query = parse_qs(url.query)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8"))
            verified = _signature_ok(robots.secrets[name], query) if kind == "dingtalk" and name in robots.secrets else None
            robots.received.append({"robot": name, "kind": kind, "body": body, "verified": verified, "query": query})
            if name in robots.silent:
                robots.stop.wait(30)
                return
            if name in robots.broken:
                self.send_response(500)
                self.end_headers()
                return
            code = 310000 if name in robots.refusing or verified is False else 0
            reply = json.dumps({"errcode": code, "errmsg": "ok" if code == 0 else "sign not match"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    robots.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield robots
    finally:
        robots.stop.set()
        server.shutdown()
        server.server_close()
