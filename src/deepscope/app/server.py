"""Serving: token checks and security headers around the app, files from the logdir, waitress.

The checks are a WSGI middleware around Flask's ``wsgi_app``, so they cover every response:
Dash's own routes, static assets, errors and 404s alike.
"""

from __future__ import annotations

import hmac
import io
import ipaddress
import json
import logging
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from deepscope.errors import InvalidArgumentError
from deepscope.track import _db

__all__ = [
    "ServerHandle",
    "start_server",
    "is_loopback",
    "check_host_and_token",
    "logdir_file_url",
    "SecurityMiddleware",
    "LogdirFiles",
    "CallbackGuard",
    "browser_addresses",
    "TOKEN_ENV",
]

log = logging.getLogger(__name__)

TOKEN_ENV = "DEEPSCOPE_TOKEN"
LOGDIR_FILE_PREFIX = "/logdir-file/"
CALLBACK_PATH = "/_dash-update-component"

# waitress limits: a request body (a Dash callback) is refused with 413 from its Content-Length,
# before it is read or the token checked; idle or half-sent connections are closed after
# CHANNEL_TIMEOUT_S, and the server holds up to CONNECTION_LIMIT of them, so a crowd of idle
# sockets neither exhausts the slots for long nor locks out other users.
MAX_BODY_BYTES = 16 << 20
MAX_HEADER_BYTES = 64 << 10
CHANNEL_TIMEOUT_S = 15
CONNECTION_LIMIT = 1000
# A request's headers must arrive within this long of their first byte (slowloris: a client that
# sends a header a byte at a time never goes idle, so CHANNEL_TIMEOUT_S alone never closes it).
# Checked every CLEANUP_INTERVAL_S, so a slow client is closed within the sum of the two.
HEADER_TIMEOUT_S = 10
CLEANUP_INTERVAL_S = 2
# One remote client may hold this many connections (a browser opens about six); more are closed
# as they arrive, so one machine cannot take every slot. Clients on this machine are not
# bounded: they share one address, and a local load test would lock itself out.
MAX_CONNECTIONS_PER_CLIENT = 32
_BOUND_LOOPBACK_CLIENTS = False

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
    plotly and React set them at run time. Only the dashboard itself may frame its pages
    (``frame-ancestors 'self'`` and ``X-Frame-Options: SAMEORIGIN``), so another local page
    cannot overlay it (clickjacking).
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
        "frame-ancestors": ["'self'"],
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
        # A random name and value per server: the cookie proves this browser showed this server
        # its token, says nothing about the token, and ends with the server. (Browsers send a
        # host's cookies to all its ports; the random name keeps dashboards from clashing.)
        self.cookie_name = f"deepscope_auth_{secrets.token_hex(6)}"
        self.cookie_value = secrets.token_urlsafe(32)

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
            if by_query and _is_navigation(environ):
                # Take the token out of the address bar and history: the cookie carries it on.
                return self._redirect_without_token(environ, start_response, request.path)

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

    def _redirect_without_token(self, environ: dict, start_response: Callable, path: str) -> Any:
        from werkzeug.wrappers import Response

        query = [(k, v) for k, v in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True) if k != "token"]
        location = quote(path) + (f"?{urlencode(query)}" if query else "")
        response = Response("", status=303, headers={"Location": location, "Cache-Control": "no-store"})
        response.headers.add("Set-Cookie", f"{self.cookie_name}={self.cookie_value}; Path=/; HttpOnly; SameSite=Strict")
        self._secure(response.headers, path)
        return response(environ, start_response)

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
            ("X-Frame-Options", "SAMEORIGIN"),
            ("Content-Security-Policy", policy),
            # The full address to this server only (the first page comes with the dashboard's
            # layout, which the request's Referer names), nothing to any other site.
            ("Referrer-Policy", "same-origin"),
        ):
            if name.lower() not in existing:
                headers.add(name, value)


class LogdirFiles:
    """``GET /logdir-file/<run folder>/<path>``: a file a run's index references (an image, an
    embedding, a table, a result); 404 for anything else, dotfiles and the index itself included.

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
        target = self.resolve(path[len(LOGDIR_FILE_PREFIX) :])
        if target is None:
            return NotFound()(environ, start_response)
        response = send_file(target, environ, conditional=True, max_age=0)
        return response(environ, start_response)

    def resolve(self, relative: str) -> Path | None:
        """The file ``relative`` names, when a run's index references it; else None."""
        if self.root is None or not relative:
            return None
        parts = relative.split("/")
        if len(parts) < 3 or any(not part or part.startswith(".") or "\\" in part for part in parts):
            return None
        try:
            run = (self.root / parts[0]).resolve()
            target = (self.root / relative).resolve()
            inside = (
                run.parent == self.root
                and target.is_relative_to(run)
                and target.is_file()
                and _referenced(run, target.relative_to(run).as_posix())
            )
        except (OSError, ValueError):  # null bytes, names too long
            return None
        return target if inside else None


def _referenced(run: Path, relative: str) -> bool:
    """Whether the run's index names ``relative`` (a file, or a file inside a result's folder)."""
    index = run / "run.sqlite"
    if not index.is_file():
        return False
    sql = "SELECT 1 FROM artifacts WHERE path=? OR substr(?, 1, length(path) + 1) = path || '/' LIMIT 1"
    try:
        found = _db.read(index, lambda c: c.execute(sql, (relative, relative)).fetchone())
        if found is not None:
            return True
        meta = _db.read(index, lambda c: c.execute("SELECT value FROM meta").fetchall())
    except (ValueError, sqlite3.Error):  # a damaged index references nothing
        return False
    return any(_names_file(value, relative) for (value,) in meta)


def _names_file(value: str, relative: str) -> bool:
    """Whether a meta value (JSON) names ``relative``, e.g. a sprite or an export a run points to."""
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):
        return False
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and item.replace("\\", "/").lstrip("./") == relative:
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class CallbackGuard:
    """A malformed Dash callback request (not JSON, or without ``output`` and ``inputs``) gets a
    400 and one log line, instead of a 500 with a traceback from deep inside Dash."""

    def __init__(self, wsgi_app: Callable):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != CALLBACK_PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        body = environ["wsgi.input"].read(length) if 0 <= length <= MAX_BODY_BYTES else b""
        problem = _callback_problem(body) if 0 <= length <= MAX_BODY_BYTES else "no usable length"
        if problem:
            log.warning("refused a malformed callback request from %s: %s", environ.get("REMOTE_ADDR", "?"), problem)
            start_response("400 Bad Request", [("Content-Type", "text/plain"), ("X-Content-Type-Options", "nosniff")])
            return [f"deepscope: malformed callback request ({problem}).\n".encode()]
        environ["wsgi.input"] = io.BytesIO(body)
        return self.wsgi_app(environ, start_response)


def _callback_problem(body: bytes) -> str:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return "the body is not JSON"
    if not isinstance(data, dict):
        return "the body is not a JSON object"
    if not isinstance(data.get("output"), str):
        return "no 'output'"
    if not isinstance(data.get("inputs"), list) or not isinstance(data.get("state", []), list):
        return "'inputs' and 'state' must be lists"
    for item in [*data["inputs"], *data.get("state", [])]:
        entries = item if isinstance(item, list) else [item]
        if not all(isinstance(entry, dict) and "id" in entry and "property" in entry for entry in entries):
            return "an input without 'id' and 'property'"
    return ""


def _is_navigation(environ: dict) -> bool:
    """A browser loading a page (not a script's fetch): a GET that accepts HTML."""
    return environ.get("REQUEST_METHOD") == "GET" and "text/html" in environ.get("HTTP_ACCEPT", "")


def browser_addresses(host: str, port: int) -> list[str]:
    """The addresses a browser can open for a server listening on ``host`` (``0.0.0.0`` and
    ``::`` listen everywhere but cannot be opened: list this machine's names instead)."""
    if host not in ("0.0.0.0", "::", ""):
        shown = f"[{host}]" if ":" in host else host
        return [f"http://{shown}:{port}/"]
    names = ["127.0.0.1" if host != "::" else "[::1]"]
    try:
        hostname = socket.gethostname()
        names.append(hostname)
        for address in socket.gethostbyname_ex(hostname)[2]:
            if not address.startswith("127.") and address not in names:
                names.append(address)
    except OSError:
        pass
    return [f"http://{name}:{port}/" for name in names]


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


def _per_client_channel(base: type) -> type:
    """waitress's channel class, closing a connection beyond MAX_CONNECTIONS_PER_CLIENT of its peer.

    Each call counts its own connections: make one class per listening server.
    """
    peers: dict[str, int] = {}  # open connections per peer address
    peers_lock = threading.Lock()

    class PerClientChannel(base):  # type: ignore[misc, valid-type]
        _deepscope_peer: str | None = None
        # When the headers of the request being read began to arrive (None between requests
        # and once they are in; the body is bounded by its size, not its time).
        head_since: float | None = None

        def __init__(self, server: Any, sock: Any, addr: Any, adj: Any, map: Any = None) -> None:
            super().__init__(server, sock, addr, adj, map)
            peer = str(addr[0]) if isinstance(addr, (tuple, list)) and addr else ""
            with peers_lock:
                count = peers.get(peer, 0) + 1
                peers[peer] = count
                self._deepscope_peer = peer
            bounded = _BOUND_LOOPBACK_CLIENTS or not is_loopback(peer)
            if bounded and count > MAX_CONNECTIONS_PER_CLIENT:
                if count == MAX_CONNECTIONS_PER_CLIENT + 1:
                    log.warning("closing connections from %s beyond %d at a time", peer, MAX_CONNECTIONS_PER_CLIENT)
                self.handle_close()

        def received(self, data: bytes) -> bool:
            if data and self.head_since is None and (self.request is None or not self.request.headers_finished):
                self.head_since = time.monotonic()
            taken = super().received(data)
            if self.request is None or self.request.headers_finished:
                self.head_since = None
            return taken

        def del_channel(self, map: Any = None) -> None:
            peer, self._deepscope_peer = self._deepscope_peer, None
            if peer is not None:
                with peers_lock:
                    left = peers.get(peer, 1) - 1
                    if left > 0:
                        peers[peer] = left
                    else:
                        peers.pop(peer, None)
            super().del_channel(map)

    return PerClientChannel


def _bound_header_time(listener: Any) -> None:
    """Make the listener's periodic clean-up also close connections whose request headers have
    been arriving for longer than HEADER_TIMEOUT_S."""
    idle_cleanup = listener.maintenance

    def maintenance(now: float) -> None:
        idle_cleanup(now)
        cutoff = time.monotonic() - HEADER_TIMEOUT_S
        slow = [
            channel
            for channel in list(listener.active_channels.values())
            if getattr(channel, "head_since", None) is not None
            and channel.head_since < cutoff
            and not channel.will_close
        ]
        for channel in slow:
            channel.will_close = True
        if slow:
            log.warning("closed %d connection(s) whose request headers took over %d s", len(slow), HEADER_TIMEOUT_S)

    listener.maintenance = maintenance


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
    _socket_map: dict = field(default_factory=dict, repr=False)  # waitress's sockets, to close them
    on_stop: list[Callable[[], None]] = field(default_factory=list, repr=False)  # run after the sockets close

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving: close the sockets and wait for the serving thread to end."""
        from waitress import wasyncore

        server = self._server
        socket_map = self._socket_map

        def close_all() -> None:
            wasyncore.close_all(socket_map, ignore_all=True)

        from waitress.server import BaseWSGIServer

        trigger = next((d.trigger for d in socket_map.values() if isinstance(d, BaseWSGIServer)), None)
        if trigger is not None and self._thread.is_alive():
            # Close on the serving thread itself, so its poll loop is not racing the close.
            try:
                trigger.pull_trigger(close_all)  # pyright: ignore[reportAttributeAccessIssue]  # stub: trigger is int
            except OSError:  # the trigger's pipe is already closed: the loop is ending anyway
                pass
            else:
                self._thread.join(timeout)
        if self._thread.is_alive():
            close_all()
            self._thread.join(timeout)
        server.task_dispatcher.shutdown()
        for finish in self.on_stop:
            finish()

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
    wsgi_app: Callable,
    *,
    host: str = "127.0.0.1",
    port: int = 6060,
    token: str | None = None,
    threads: int = 8,
) -> ServerHandle:
    """Serve ``wsgi_app`` with waitress in a daemon thread; ``port=0`` picks a free port."""
    from waitress.server import create_server

    socket_map: dict = {}
    server = create_server(
        CallbackGuard(wsgi_app),
        map=socket_map,
        host=host,
        port=port,
        threads=threads,
        ident="deepscope",
        clear_untrusted_proxy_headers=True,
        max_request_body_size=MAX_BODY_BYTES,
        max_request_header_size=MAX_HEADER_BYTES,
        channel_timeout=CHANNEL_TIMEOUT_S,
        connection_limit=CONNECTION_LIMIT,
        cleanup_interval=CLEANUP_INTERVAL_S,
    )
    from waitress.server import BaseWSGIServer, MultiSocketServer

    # A single listener is both the server and an entry of its map: wrap each one once, or every
    # connection would be counted twice and its slot never wholly given back.
    for listener in dict.fromkeys([*socket_map.values(), server]):
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = _per_client_channel(listener.channel_class)
            _bound_header_time(listener)
    if isinstance(server, MultiSocketServer):  # several sockets (localhost -> ::1 and 127.0.0.1)
        effective_port = int(server.effective_listen[0][1])
    else:
        effective_port = int(getattr(server, "effective_port", port) or port)  # waitress's stub omits it
    thread = threading.Thread(target=server.run, name=f"deepscope-server-{effective_port}", daemon=True)
    thread.start()
    url_host = f"[{host}]" if ":" in host else host
    url = f"http://{url_host}:{effective_port}/"
    if token:
        url += "?token=" + quote(token, safe="")
    log.info("deepscope dashboard at %s", url)
    return ServerHandle(url=url, host=host, port=effective_port, _server=server, _thread=thread, _socket_map=socket_map)
