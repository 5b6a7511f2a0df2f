"""The WSGI application of the embedded hgweb target: hgwebdir behind a small HTTP basic auth layer.

gunicorn loads `hgharness.wsgiapp:app`; the configuration comes from the environment:
  HGHARNESS_HGWEB_CONFIG  path of the hgwebdir config file
  HGHARNESS_USERS_FILE    lines "user:salt_hex:pbkdf2_sha256_hex" (no clear-text passwords on disk)
  HGHARNESS_WRAP          optional "module:callable" applied to the app (the harness's own tests use it to
                          build deliberately broken targets)

Reads are anonymous. A request that carries credentials must carry valid ones (else 401). A push
(POST of unbundle/pushkey) without credentials gets a 401 challenge, so Mercurial retries with its [auth]
credentials; hgweb's `allow-push` then decides on REMOTE_USER.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import importlib
import os
import urllib.parse

PUSH_COMMANDS = {"unbundle", "pushkey"}
ITERATIONS = 20000


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS)
    return f"{salt.hex()}:{digest.hex()}"


def write_users(path, users: dict[str, str]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        for user, password in users.items():
            f.write(f"{user}:{hash_password(password)}\n")


def read_users(path) -> dict[str, tuple[bytes, bytes]]:
    users = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                user, salt, digest = line.strip().split(":")
                users[user] = (bytes.fromhex(salt), bytes.fromhex(digest))
    return users


class BasicAuth:
    def __init__(self, app, users: dict[str, tuple[bytes, bytes]], realm: str = "hgharness"):
        self.app = app
        self.users = users
        self.realm = realm
        self._ok_cache: dict[str, str] = {}  # header -> user, so pbkdf2 runs once per credential

    def check(self, header: str) -> str | None:
        if header in self._ok_cache:
            return self._ok_cache[header]
        try:
            kind, _, blob = header.partition(" ")
            if kind.lower() != "basic":
                return None
            user, _, password = base64.b64decode(blob.strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        entry = self.users.get(user)
        if not entry:
            return None
        salt, digest = entry
        if hmac.compare_digest(hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS), digest):
            if len(self._ok_cache) < 1000:
                self._ok_cache[header] = user
            return user
        return None

    def challenge(self, start_response, message: bytes):
        start_response("401 Unauthorized", [
            ("WWW-Authenticate", f'Basic realm="{self.realm}"'),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(message))),
        ])
        return [message]

    def __call__(self, environ, start_response):
        environ.pop("REMOTE_USER", None)
        header = environ.get("HTTP_AUTHORIZATION")
        if header:
            user = self.check(header)
            if user is None:
                return self.challenge(start_response, b"bad credentials\n")
            environ["REMOTE_USER"] = user
        elif self.is_push(environ):
            return self.challenge(start_response, b"push requires authentication\n")
        return self.app(environ, start_response)

    @staticmethod
    def is_push(environ) -> bool:
        if environ.get("REQUEST_METHOD") != "POST":
            return False
        cmd = urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("cmd", [""])[0]
        return cmd in PUSH_COMMANDS


class StaticCache:
    """Top-level /static/ responses (hgweb's CSS, JS and images) get a cache lifetime, as a deployment's front
    server would give them; hgweb itself sends none, so a browser revalidates them on every page."""

    def __init__(self, app, max_age: int = 3600):
        self.app = app
        self.header = ("Cache-Control", f"public, max-age={max_age}")

    def __call__(self, environ, start_response):
        if not environ.get("PATH_INFO", "").startswith("/static/") or environ.get("REQUEST_METHOD") != "GET":
            return self.app(environ, start_response)

        def start(status, headers, exc_info=None):
            if status.startswith("200") and not any(k.lower() == "cache-control" for k, _ in headers):
                headers = [*headers, self.header]
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def make_app():
    from hgharness.hg import init_mercurial

    init_mercurial()  # without it Mercurial 7 cannot unbundle a push ("missing support for replycaps")
    from mercurial.hgweb import hgwebdir_mod

    config = os.environ["HGHARNESS_HGWEB_CONFIG"]
    app = StaticCache(hgwebdir_mod.hgwebdir(config.encode()))
    users_file = os.environ.get("HGHARNESS_USERS_FILE")
    if users_file:
        app = BasicAuth(app, read_users(users_file))
    wrap = os.environ.get("HGHARNESS_WRAP")
    if wrap:
        module, func = wrap.split(":")
        app = getattr(importlib.import_module(module), func)(app)
    return app


app = make_app() if "HGHARNESS_HGWEB_CONFIG" in os.environ else None
