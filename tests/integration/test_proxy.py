"""The outage proxy (``tests/proxy.py``) against a tiny echo server of the test's own.

Each test checks what a client sees through the proxy: bytes forwarded both ways, a reset
after ``cut()``, silence after ``blackhole()`` and the held bytes delivered by ``heal()``,
a refused connection after ``close()``. "Nothing arrives" is checked with a short socket
timeout, which asserts an absence, not how long anything took.
"""

from __future__ import annotations

import contextlib
import os
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from proxy import TcpProxy

QUIET_S = 0.3  # how long a test listens for bytes that must not come
GUARD_S = 30.0  # hang guard for bytes that must come


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


class _EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Echo)
        self.handled = 0

    def process_request(self, request: object, client_address: object) -> None:
        self.handled += 1
        super().process_request(request, client_address)  # type: ignore[arg-type]


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    server = _EchoServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address  # type: ignore[misc]
    server.shutdown()
    server.server_close()
    thread.join(GUARD_S)


@pytest.fixture
def proxy(echo: tuple[str, int]) -> Iterator[TcpProxy]:
    with TcpProxy(*echo) as tcp:
        yield tcp


@contextlib.contextmanager
def _client(address: tuple[str, int]) -> Iterator[socket.socket]:
    sock = socket.create_connection(address, timeout=GUARD_S)
    try:
        yield sock
    finally:
        sock.close()


def _receive(sock: socket.socket, size: int) -> bytes:
    """Exactly ``size`` bytes (fewer only if the peer closes first)."""
    chunks = bytearray()
    while len(chunks) < size:
        data = sock.recv(size - len(chunks))
        if not data:
            break
        chunks += data
    return bytes(chunks)


def _dead(sock: socket.socket) -> bool:
    """True when the connection was closed or reset from the other end."""
    sock.settimeout(GUARD_S)
    try:
        sock.sendall(b"ping")  # may still succeed locally before the reset is known
        return sock.recv(16) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def _wait_for(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` until it holds (a hang guard fails the test after GUARD_S)."""
    deadline = time.monotonic() + GUARD_S
    while not condition():
        assert time.monotonic() < deadline, "the proxy did not get there"
        time.sleep(0.005)


def _refused(address: tuple[str, int]) -> bool:
    """True when a new connection is refused or reset (during the handshake or after)."""
    try:
        sock = socket.create_connection(address, timeout=GUARD_S)
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    with contextlib.closing(sock):
        return _dead(sock)


def _silent(sock: socket.socket) -> bool:
    """True when nothing arrives within QUIET_S and the connection stays open."""
    sock.settimeout(QUIET_S)
    try:
        sock.recv(16)  # bytes or EOF: either way not a silent, open connection
    except TimeoutError:
        return True
    finally:
        sock.settimeout(GUARD_S)
    return False


def test_bytes_travel_both_ways_through_the_proxy(proxy: TcpProxy) -> None:
    # More than the proxy buffers per direction plus what the kernel takes (4 MiB sockets)
    payload = os.urandom(16 << 20)
    with socket.socket() as sock:
        # A small receive window and a late reader: the proxy's sends to the client come
        # back partial and its buffer toward the client fills, as with a slow consumer.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(GUARD_S)
        sock.connect(proxy.address)
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        time.sleep(0.2)
        echoed = _receive(sock, len(payload))
        sender.join(GUARD_S)
    assert echoed == payload
    assert proxy.accepted == 1


def test_cut_resets_open_connections_and_new_ones_until_heal(
    proxy: TcpProxy, echo: tuple[str, int]
) -> None:
    with _client(proxy.address) as before:
        before.sendall(b"hello")
        assert _receive(before, 5) == b"hello"
        proxy.cut()
        assert proxy.mode == "cut"
        assert _dead(before)
        assert _refused(proxy.address)
    assert proxy.accepted == 2
    proxy.heal()
    with _client(proxy.address) as after:
        after.sendall(b"again")
        assert _receive(after, 5) == b"again"


def test_blackhole_holds_every_byte_until_heal(proxy: TcpProxy) -> None:
    with _client(proxy.address) as before:
        before.sendall(b"one")
        assert _receive(before, 3) == b"one"
        proxy.blackhole()
        before.sendall(b"two")
        assert _silent(before)
        with _client(proxy.address) as during:  # accepted, yet nothing comes back
            during.sendall(b"three")
            assert _silent(during)
            proxy.heal()
            assert _receive(during, 5) == b"three"
        assert _receive(before, 3) == b"two"


def test_blackhole_does_not_pass_new_connections_on() -> None:
    server = _EchoServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with TcpProxy(*server.server_address) as tcp:  # type: ignore[misc]
            tcp.blackhole()
            with _client(tcp.address) as sock:
                sock.sendall(b"x")
                _wait_for(lambda: tcp.accepted == 1)
                assert _silent(sock)
                assert server.handled == 0
                tcp.heal()
                assert _receive(sock, 1) == b"x"
            assert server.handled == 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join(GUARD_S)


def test_cut_ends_held_connections_too(proxy: TcpProxy) -> None:
    with _client(proxy.address) as forwarded:
        proxy.blackhole()
        forwarded.sendall(b"lost")
        with _client(proxy.address) as held:  # accepted while blackholed, never passed on
            held.sendall(b"lost too")
            _wait_for(lambda: proxy.accepted == 2)
            proxy.cut()
            assert _dead(forwarded)
            assert _dead(held)
    assert proxy.connections == 0


def test_close_refuses_connections_and_ends_the_thread(echo: tuple[str, int]) -> None:
    tcp = TcpProxy(*echo)
    with _client(tcp.address) as sock:
        tcp.close()
        assert _dead(sock)
    assert not tcp._thread.is_alive()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(tcp.address, timeout=GUARD_S).close()
    tcp.close()  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        tcp.cut()


def test_a_target_that_refuses_resets_the_client() -> None:
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        closed_port = placeholder.getsockname()[1]
    with TcpProxy("127.0.0.1", closed_port) as tcp:
        assert _refused(tcp.address)
        assert tcp.connections == 0


def test_url_for_points_a_url_at_the_proxy(proxy: TcpProxy) -> None:
    url = proxy.url_for("redis://:s3cret@10.0.0.9:6379/2?x=1")
    assert url == f"redis://:s3cret@127.0.0.1:{proxy.port}/2?x=1"
    assert proxy.url_for("redis://10.0.0.9/0") == f"redis://127.0.0.1:{proxy.port}/0"
