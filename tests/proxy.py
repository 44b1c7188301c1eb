"""``TcpProxy``: a real TCP forwarder between a client and a server, for outage tests.

It listens on 127.0.0.1 at an ephemeral port and forwards every connection to a target
``host:port``; the test then breaks the path on purpose:

``cut()``        every open connection is reset (RST, as when a server crashes) and each new
                 one is accepted and reset at once, until ``heal()``.
``blackhole()``  a hung server: connections stay open and new ones are accepted, but no byte
                 moves in either direction (nor is a new connection passed on to the target)
                 until ``heal()``, which delivers what was held back, or ``cut()``.
``heal()``       forward again.
``close()``      reset everything, stop listening and end the thread (also on leaving
                 ``with``); connecting afterwards is refused.

All of it runs on one background thread (``selectors``, non-blocking sockets, a bounded
buffer per direction so a slow reader slows its writer instead of growing memory). The
methods above are carried out by that thread and return once done: after ``cut()`` returns,
the old connections are already reset. ``accepted`` counts connections the proxy accepted
(forwarded, held or reset), so a test can see whether a client tried to connect at all.
"""

from __future__ import annotations

import contextlib
import queue
import selectors
import socket
import threading
import urllib.parse
from collections.abc import Callable
from typing import Literal

Mode = Literal["open", "cut", "blackhole"]

_CHUNK = 65536
_BUFFER_LIMIT = 1 << 20  # bytes held for one direction before its reader stops reading
_COMMAND_TIMEOUT_S = 30.0  # a hang guard: the thread answers commands in microseconds
_LINGER_ZERO = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # struct linger {on, 0 s}: close sends RST


class _Link:
    """One client connection, its connection to the target (None until forwarded) and the
    bytes each side is owed."""

    __slots__ = ("client", "client_done", "server", "server_done", "to_client", "to_server")

    def __init__(self, client: socket.socket) -> None:
        self.client = client
        self.server: socket.socket | None = None
        self.to_client = bytearray()
        self.to_server = bytearray()
        self.client_done = False  # the client sent EOF (after to_server drains: shut down)
        self.server_done = False


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``(target_host, target_port)``; see the module
    docstring. Connections to the target time out after ``connect_timeout_s``."""

    def __init__(
        self, target_host: str, target_port: int, *, connect_timeout_s: float = 5.0
    ) -> None:
        self.target = (target_host, target_port)
        self.accepted = 0
        self._connect_timeout_s = connect_timeout_s
        self._mode: Mode = "open"
        self._links: list[_Link] = []
        self._selector = selectors.DefaultSelector()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._commands: queue.SimpleQueue[tuple[Callable[[], None], threading.Event]] = (
            queue.SimpleQueue()
        )
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._selector.register(self._wake_reader, selectors.EVENT_READ, None)
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="TcpProxy", daemon=True)
        self._thread.start()

    # -- the test's controls ------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def connections(self) -> int:
        """Connections open through the proxy now (forwarded or held)."""
        return len(self._links)

    def url_for(self, url: str) -> str:
        """``url`` with its host and port replaced by the proxy's (user info kept)."""
        parts = urllib.parse.urlsplit(url)
        user = parts.netloc.rpartition("@")[0]
        netloc = f"{user}@127.0.0.1:{self.port}" if user else f"127.0.0.1:{self.port}"
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))

    def cut(self) -> None:
        self._command(self._do_cut)

    def heal(self) -> None:
        self._command(self._do_heal)

    def blackhole(self) -> None:
        self._command(self._do_blackhole)

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        self._command(self._do_close)
        self._thread.join(_COMMAND_TIMEOUT_S)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<TcpProxy 127.0.0.1:{self.port} → {self.target[0]}:{self.target[1]} "
            f"[{self._mode}, {len(self._links)} connections]>"
        )

    def _command(self, action: Callable[[], None]) -> None:
        if not self._thread.is_alive():
            raise RuntimeError(f"{self!r} is closed")
        done = threading.Event()
        self._commands.put((action, done))
        self._wake_writer.send(b"x")
        if not done.wait(_COMMAND_TIMEOUT_S):
            raise RuntimeError(f"{self!r} did not carry out a command")

    # -- the thread ---------------------------------------------------------------------

    def _loop(self) -> None:
        try:
            while self._running:
                for key, events in self._selector.select():
                    sock = key.fileobj
                    if sock is self._wake_reader:
                        self._run_commands()
                    elif sock is self._listener:
                        self._accept()
                    else:
                        assert isinstance(sock, socket.socket)
                        assert isinstance(key.data, _Link)
                        self._serve(key.data, sock, events)
                    if not self._running:
                        break
        finally:
            for link in list(self._links):
                self._drop(link, reset=True)
            for sock in (self._listener, self._wake_reader, self._wake_writer):
                sock.close()
            self._selector.close()
            self._run_commands()  # release a caller still waiting

    def _run_commands(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_reader.recv(4096)
        while True:
            try:
                action, done = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                if self._running:
                    action()
            finally:
                done.set()

    def _do_cut(self) -> None:
        self._mode = "cut"
        for link in list(self._links):
            self._drop(link, reset=True)

    def _do_heal(self) -> None:
        self._mode = "open"
        for link in list(self._links):
            if link.server is None and not self._connect(link):
                continue
            self._watch(link)

    def _do_blackhole(self) -> None:
        self._mode = "blackhole"
        for link in self._links:
            self._watch(link)

    def _do_close(self) -> None:
        self._running = False

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        self.accepted += 1
        if self._mode == "cut":
            _close(client, reset=True)
            return
        client.setblocking(False)
        link = _Link(client)
        self._links.append(link)
        if self._mode == "open" and not self._connect(link):
            return
        self._watch(link)

    def _connect(self, link: _Link) -> bool:
        """Open the link's connection to the target; reset the client when it fails."""
        try:
            server = socket.create_connection(self.target, timeout=self._connect_timeout_s)
        except OSError:
            self._drop(link, reset=True)
            return False
        server.setblocking(False)
        link.server = server
        return True

    def _serve(self, link: _Link, sock: socket.socket, events: int) -> None:
        if link not in self._links:
            return  # dropped earlier in the same round of events
        from_client = sock is link.client
        outgoing = link.to_client if from_client else link.to_server
        incoming = link.to_server if from_client else link.to_client
        try:
            if events & selectors.EVENT_WRITE and outgoing:
                sent = sock.send(outgoing)
                del outgoing[:sent]
            if events & selectors.EVENT_READ:
                data = sock.recv(_CHUNK)
                if data:
                    incoming.extend(data)
                elif from_client:
                    link.client_done = True
                else:
                    link.server_done = True
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._drop(link, reset=True)
            return
        self._pass_on_eof(link)
        if link in self._links:
            self._watch(link)

    def _pass_on_eof(self, link: _Link) -> None:
        """Half-close the other side once a side's EOF is all that is left to deliver."""
        try:
            if link.client_done and not link.to_server and link.server is not None:
                link.server.shutdown(socket.SHUT_WR)
            if link.server_done and not link.to_client:
                link.client.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        drained = not link.to_client and not link.to_server
        if link.client_done and link.server_done and drained:
            self._drop(link, reset=False)

    def _watch(self, link: _Link) -> None:
        """(Re)register the link's sockets for what each may do in the current mode."""
        flowing = self._mode == "open" and link.server is not None
        client_events = server_events = 0
        if flowing:
            if not link.client_done and len(link.to_server) < _BUFFER_LIMIT:
                client_events |= selectors.EVENT_READ
            if link.to_client:
                client_events |= selectors.EVENT_WRITE
            if not link.server_done and len(link.to_client) < _BUFFER_LIMIT:
                server_events |= selectors.EVENT_READ
            if link.to_server:
                server_events |= selectors.EVENT_WRITE
        self._register(link.client, client_events, link)
        if link.server is not None:
            self._register(link.server, server_events, link)

    def _register(self, sock: socket.socket, events: int, link: _Link) -> None:
        try:
            current = self._selector.get_key(sock).events
        except KeyError:
            current = 0
        if events == current:
            return
        if not events:
            self._selector.unregister(sock)
        elif not current:
            self._selector.register(sock, events, link)
        else:
            self._selector.modify(sock, events, link)

    def _drop(self, link: _Link, *, reset: bool) -> None:
        with contextlib.suppress(ValueError):  # first: once a peer sees the close, it is gone
            self._links.remove(link)
        for sock in (link.client, link.server):
            if sock is None:
                continue
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(sock)
            _close(sock, reset=reset)


def _close(sock: socket.socket, *, reset: bool) -> None:
    with contextlib.suppress(OSError):
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
        sock.close()
