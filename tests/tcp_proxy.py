"""A threaded TCP proxy on 127.0.0.1 that a test can cut and heal, to stage outages of PostgreSQL, Redis or AWS.

Besides outages it can lose answers: requests still reach the target, which acts on them, and the
connection is reset as its answer comes back, as when a network drops mid-call.
"""

from __future__ import annotations

import selectors
import socket
import struct
import threading

POLL_SECONDS = 0.05
MODES = ("refuse", "blackhole", "lose-answers")


def _reset(sock: socket.socket) -> None:
    """Close a socket with an RST rather than a FIN, as a crashed or restarted server would."""
    try:
        # Linger on, zero seconds: the kernel drops unsent data and answers with a reset.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class _Link:
    """One client connection forwarded to the target by its own thread."""

    def __init__(self, client: socket.socket, upstream: socket.socket, proxy: Proxy):
        self.client = client
        self.upstream = upstream
        self.proxy = proxy
        self.request = b""  # what the client sent since the last answer
        self.stop = threading.Event()
        # Started by the proxy once the link is registered: a link that forwarded bytes before a cut could
        # see it would survive the cut.
        self.thread = threading.Thread(target=self._pump, daemon=True, name="tcp-proxy-link")

    def _pump(self) -> None:
        """Copy bytes both ways until either side closes or the proxy resets the link."""
        peers = {self.client: self.upstream, self.upstream: self.client}
        with selectors.DefaultSelector() as selector:
            for sock in peers:
                selector.register(sock, selectors.EVENT_READ)
            while not self.stop.is_set():
                for key, _events in selector.select(POLL_SECONDS):
                    try:
                        data = key.fileobj.recv(65536)
                        if not data:
                            self.stop.set()
                            break
                        if key.fileobj is self.client:
                            self.request += data
                        if key.fileobj is self.upstream and self.proxy.loses(self.request):
                            # The target has read the request and answered: it acted. The client never hears.
                            self.proxy.count_lost_answer()
                            self.stop.set()
                            break
                        if key.fileobj is self.upstream:
                            self.request = b""  # the answer came: the next request on this connection starts
                        peers[key.fileobj].sendall(data)
                    except OSError:
                        self.stop.set()
                        break
        # The pump owns both sockets, so only this thread closes them: no close under a blocked call.
        _reset(self.client)
        _reset(self.upstream)

    def reset(self) -> None:
        """Reset both ends and wait until the link's thread has closed them."""
        self.stop.set()
        if self.thread.is_alive() or self.thread.ident is not None:
            self.thread.join(5)


class Proxy:
    """Forward 127.0.0.1:<port> to a target; `cut(mode)` stages an outage and `heal()` ends it."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.mode = "open"
        self._lock = threading.Lock()
        self._links: list[_Link] = []
        self._held: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._placeholder: socket.socket | None = None
        self._closing = threading.Event()
        self.answers_lost = 0  # answers dropped in "lose-answers" mode
        self.lose_only: bytes | None = None  # in that mode, lose only answers to requests containing these bytes
        self.port = self._listen(0)
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True, name="tcp-proxy-accept")
        self._acceptor.start()

    def loses(self, request: bytes) -> bool:
        """Tell whether the answer to this request is to be lost."""
        return self.mode == "lose-answers" and (self.lose_only is None or self.lose_only in request)

    def count_lost_answer(self) -> None:
        """Count one answer dropped in "lose-answers" mode (called by a link's thread)."""
        with self._lock:
            self.answers_lost += 1

    @property
    def url_host(self) -> str:
        """The proxy's address as host:port, for building a database or Redis URL."""
        return f"127.0.0.1:{self.port}"

    def _listen(self, port: int) -> int:
        """Open the listening socket (again, on the same port after a refuse cut) and return its port."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(128)
        listener.settimeout(POLL_SECONDS)
        self._listener = listener
        return listener.getsockname()[1]

    def _close_listener(self) -> None:
        """Stop listening now (caller holds the lock), even while the acceptor waits on the socket."""
        # On Linux, shutdown moves a listening socket out of LISTEN at once; close alone waits for the
        # acceptor's pending call to drop its reference, and until then connections are still accepted.
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._listener = None
        # Keep the port bound (not listening, so connections are still refused): an unbound port could be
        # handed to another test's proxy in a parallel worker, and this proxy's clients would reach it.
        placeholder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        placeholder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        placeholder.bind(("127.0.0.1", self.port))
        self._placeholder = placeholder

    def _release_placeholder(self) -> None:
        """Give the port back (caller holds the lock) so the listener can take it again."""
        if self._placeholder is not None:
            self._placeholder.close()
            self._placeholder = None

    def _accept_loop(self) -> None:
        """Accept clients; forward them when open, hold them unanswered when blackholed."""
        while not self._closing.is_set():
            with self._lock:
                listener = self._listener
            if listener is None:
                self._closing.wait(POLL_SECONDS)
                continue
            try:
                client, _address = listener.accept()
            except (TimeoutError, OSError, ValueError):
                continue
            self._admit(client)

    def _admit(self, client: socket.socket) -> None:
        """Forward a new client, or hold it silently during a partition."""
        with self._lock:
            if self.mode == "blackhole" or self._closing.is_set():
                self._held.append(client)
                return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _reset(client)
            return
        upstream.settimeout(None)
        client.settimeout(None)
        link = _Link(client, upstream, self)
        with self._lock:
            # A cut may have come while we connected upstream: then this link must not survive it.
            survives = self.mode in ("open", "lose-answers") and not self._closing.is_set()
            if survives:
                # Registered before it forwards a byte, so any cut from now on finds it.
                self._links.append(link)
                link.thread.start()
        if not survives:
            _reset(client)
            _reset(upstream)

    def _drop_connections(self) -> None:
        """Reset every forwarded and every held connection."""
        with self._lock:
            links, self._links = self._links, []
            held, self._held = self._held, []
        for link in links:
            link.reset()
        for sock in held:
            _reset(sock)

    def cut(self, mode: str, only: bytes | None = None) -> None:
        """Stage an outage: "refuse" (nothing listens), "blackhole" (connections accepted, never answered),
        or "lose-answers" (requests reach the target, which acts; each answer is dropped with a reset): with
        `only`, just the answers to requests containing those bytes (b"Action=CreateAccessKey", say)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        with self._lock:
            self.mode = mode
            self.lose_only = only
            if mode == "refuse" and self._listener is not None:
                self._close_listener()
        if mode == "blackhole":
            self._ensure_listening()
        self._drop_connections()

    def heal(self) -> None:
        """End the outage: listen again on the same port and forward new connections."""
        with self._lock:
            self.mode = "open"
        self._ensure_listening()
        # Connections held during a partition never got an answer; their clients start over.
        with self._lock:
            held, self._held = self._held, []
        for sock in held:
            _reset(sock)

    def _ensure_listening(self) -> None:
        """Reopen the listener on the proxy's port if a refuse cut closed it."""
        with self._lock:
            if self._listener is None:
                self._release_placeholder()
                self._listen(self.port)

    def stop(self) -> None:
        """Close everything; the proxy cannot be used afterwards."""
        self._closing.set()
        self._acceptor.join(5)
        with self._lock:
            if self._listener is not None:
                self._close_listener()
            self._release_placeholder()
        self._drop_connections()

    @property
    def open_links(self) -> int:
        """How many client connections are being forwarded now."""
        with self._lock:
            self._links = [link for link in self._links if link.thread.is_alive()]
            return len(self._links)
