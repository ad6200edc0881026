"""Serving: token checks and security headers around the app, files from the logdir, waitress.

The checks are a WSGI middleware around Flask's ``wsgi_app``, so they cover every response:
Dash's own routes, static assets, errors and 404s alike.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from deepscope.errors import InvalidArgumentError

__all__ = [
    "ServerHandle",
    "start_server",
    "is_loopback",
    "check_host_and_token",
    "logdir_file_url",
    "SecurityMiddleware",
    "LogdirFiles",
    "TOKEN_ENV",
]

log = logging.getLogger(__name__)

TOKEN_ENV = "DEEPSCOPE_TOKEN"
LOGDIR_FILE_PREFIX = "/logdir-file/"

_LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine (``0.0.0.0`` does not)."""
    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_host_and_token(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token."""
    if not is_loopback(host) and not token:
        raise InvalidArgumentError(
            "host",
            "a loopback address (127.0.0.1, localhost) unless a token is set",
            host,
            hint=f"Serving on {host} lets other machines in; set a token with --token or the "
            f"{TOKEN_ENV} environment variable.",
        )


def logdir_file_url(relative_path: str | Path) -> str:
    """The URL at which the dashboard serves a file of the logdir (path relative to the logdir)."""
    return LOGDIR_FILE_PREFIX + quote(Path(relative_path).as_posix())


def content_security_policy(script_hashes: Iterable[str]) -> str:
    """A CSP that lets Dash and plotly run from this origin and nothing else.

    Inline scripts are allowed only by hash (Dash's renderer start-up line and clientside
    callbacks), so markup injected into a page cannot run script. 'unsafe-eval' stays: plotly's
    WebGL traces (scattergl, used for large scatter plots) compile their shaders with
    ``new Function`` and show "WebGL is not supported" without it. Styles must allow inline:
    plotly and React set them at run time. Frames are allowed from local pages so the dashboard
    can sit inside a local notebook.
    """
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-eval'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'", "http://localhost:*", "http://127.0.0.1:*"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


# Files from the logdir are data, never active content: no scripts, no plugins, own origin.
_FILE_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"


class SecurityMiddleware:
    """Checks the token on every request and adds security headers to every response.

    With a token set, a request is let in when it carries the token as ``?token=`` (which also
    sets a cookie for the requests the page makes next), as ``Authorization: Bearer <token>``, or
    as that cookie. Anything else gets 401.
    """

    def __init__(
        self,
        wsgi_app: Callable,
        *,
        token: str | None,
        csp: Callable[[], str],
    ):
        self.wsgi_app = wsgi_app
        self.token = token or None
        self._csp_factory = csp
        self._csp: str | None = None
        digest = hashlib.sha256(b"deepscope-cookie\0" + (token or "").encode()).hexdigest()
        # A name per token, so dashboards on different ports of one host keep their own cookie.
        self.cookie_name = f"deepscope_auth_{digest[:12]}"
        self.cookie_value = digest

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        set_cookie = False
        if self.token is not None:
            by_query = self._same(request.args.get("token"), self.token)
            authorization = request.headers.get("Authorization", "")
            by_header = authorization.startswith("Bearer ") and self._same(
                authorization[len("Bearer ") :].strip(), self.token
            )
            by_cookie = self._same(request.cookies.get(self.cookie_name), self.cookie_value)
            if not (by_query or by_header or by_cookie):
                response = Response(
                    "deepscope: this dashboard needs its token. Open the address printed by "
                    "`deepscope serve` (it ends with ?token=...), or send the header "
                    "'Authorization: Bearer <token>'.\n",
                    status=401,
                    mimetype="text/plain",
                    headers={"WWW-Authenticate": 'Bearer realm="deepscope"'},
                )
                self._secure(response.headers, request.path)
                return response(environ, start_response)
            set_cookie = by_query and not by_cookie

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            from werkzeug.datastructures import Headers

            extra = Headers()
            self._secure(extra, request.path, existing={k.lower() for k, _ in headers})
            if set_cookie:
                extra.add(
                    "Set-Cookie",
                    f"{self.cookie_name}={self.cookie_value}; Path=/; HttpOnly; SameSite=Strict",
                )
            return start_response(status, list(headers) + list(extra.items()), exc_info)

        return self.wsgi_app(environ, start)

    @staticmethod
    def _same(given: str | None, expected: str) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), expected.encode())

    def _secure(self, headers: Any, path: str, existing: set[str] | None = None) -> None:
        existing = existing or set()
        if self._csp is None:
            self._csp = self._csp_factory()
        policy = _FILE_CSP if path.startswith(LOGDIR_FILE_PREFIX) else self._csp
        for name, value in (
            ("X-Content-Type-Options", "nosniff"),
            ("Content-Security-Policy", policy),
            ("Referrer-Policy", "no-referrer"),
        ):
            if name.lower() not in existing:
                headers.add(name, value)


class LogdirFiles:
    """``GET /logdir-file/<path>``: a file from inside the logdir; 404 for anything else.

    It answers every path under the prefix itself, before Flask routing, so no other route
    (Dash's catch-all page among them) can answer for a path that was refused here.
    """

    def __init__(self, wsgi_app: Callable, logdir: Path | None):
        self.wsgi_app = wsgi_app
        self.root = logdir.resolve() if logdir is not None else None

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(LOGDIR_FILE_PREFIX):
            return self.wsgi_app(environ, start_response)
        from werkzeug.exceptions import MethodNotAllowed, NotFound
        from werkzeug.utils import send_file

        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return MethodNotAllowed(valid_methods=["GET", "HEAD"])(environ, start_response)
        target = self.resolve(path[len(LOGDIR_FILE_PREFIX):])
        if target is None:
            return NotFound()(environ, start_response)
        response = send_file(target, environ, conditional=True, max_age=0)
        return response(environ, start_response)

    def resolve(self, relative: str) -> Path | None:
        """The file ``relative`` names inside the logdir, or None when it is outside or absent."""
        if self.root is None or not relative:
            return None
        try:
            target = (self.root / relative).resolve()
            inside = target.is_relative_to(self.root) and target.is_file()
        except (OSError, ValueError):  # null bytes, names too long
            return None
        return target if inside else None


class LoopbackHostGuard:
    """Answers 403 unless the Host header names this machine.

    Without a token, a server on 127.0.0.1 trusts whoever reaches it; a web page on another site
    could reach it through DNS rebinding (its own name resolving to 127.0.0.1). Checking Host
    closes that door.
    """

    def __init__(self, wsgi_app: Callable):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if host and not is_loopback(name):
            start_response(
                "403 Forbidden",
                [("Content-Type", "text/plain"), ("X-Content-Type-Options", "nosniff")],
            )
            return [b"deepscope: requests must name this machine (127.0.0.1 or localhost).\n"]
        return self.wsgi_app(environ, start_response)


@dataclass
class ServerHandle:
    """A dashboard served by waitress in a background thread.

    ``url`` is where to open it (with ``?token=`` when a token is set); ``stop()`` shuts it down.
    Also a context manager.
    """

    url: str
    host: str
    port: int
    _server: Any = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving: close the sockets and wait for the serving thread to end."""
        from waitress import wasyncore

        server = self._server
        socket_map = server._deepscope_map

        def close_all() -> None:
            wasyncore.close_all(socket_map, ignore_all=True)

        from waitress.server import BaseWSGIServer

        trigger = next(
            (d.trigger for d in socket_map.values() if isinstance(d, BaseWSGIServer)), None
        )
        if trigger is not None and self._thread.is_alive():
            # Close on the serving thread itself, so its poll loop is not racing the close.
            try:
                trigger.pull_trigger(close_all)
            except OSError:  # the trigger's pipe is already closed: the loop is ending anyway
                pass
            else:
                self._thread.join(timeout)
        if self._thread.is_alive():
            close_all()
            self._thread.join(timeout)
        server.task_dispatcher.shutdown()

    def wait(self) -> None:
        """Block until the server stops; Ctrl-C raises ``KeyboardInterrupt`` here."""
        while self._thread.is_alive():
            self._thread.join(0.5)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(
    wsgi_app: Callable, *, host: str = "127.0.0.1", port: int = 6060, token: str | None = None,
    threads: int = 8,
) -> ServerHandle:
    """Serve ``wsgi_app`` with waitress in a daemon thread; ``port=0`` picks a free port."""
    from waitress import create_server

    socket_map: dict = {}
    server = create_server(
        wsgi_app,
        map=socket_map,
        host=host,
        port=port,
        threads=threads,
        ident="deepscope",
        clear_untrusted_proxy_headers=True,
    )
    server._deepscope_map = socket_map
    effective_port = int(getattr(server, "effective_port", port) or port)
    if not hasattr(server, "effective_port"):  # several sockets (localhost -> ::1 and 127.0.0.1)
        effective_port = int(server.effective_listen[0][1])
    thread = threading.Thread(target=server.run, name=f"deepscope-server-{effective_port}", daemon=True)
    thread.start()
    url_host = f"[{host}]" if ":" in host else host
    url = f"http://{url_host}:{effective_port}/"
    if token:
        url += "?token=" + quote(token, safe="")
    log.info("deepscope dashboard at %s", url)
    return ServerHandle(url=url, host=host, port=effective_port, _server=server, _thread=thread)
