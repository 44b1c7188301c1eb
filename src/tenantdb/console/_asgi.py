"""The console as an ASGI 3 application, for the asyncio front.

Each request is answered by ``Console.handle`` on a worker thread (``asyncio.to_thread``):
it may block on the tenant registry's store, and the event loop must keep serving the
application meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._console import Console
from ._http import MAX_BODY_BYTES, Request, Response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def asgi_adapter(console: Console) -> AsgiApp:
    """An ASGI 3 callable answering HTTP through ``console.handle`` (and the lifespan
    protocol, when served on its own)."""

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":  # a WebSocket: the console has none
            await send({"type": "websocket.close", "code": 1008})
            return
        body = await _body(scope, receive)
        if isinstance(body, int):
            response = console.body_refused(body)
        else:
            response = await asyncio.to_thread(console.handle, _request(scope, body))
        await _send(send, response)

    return application


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _body(scope: Scope, receive: Receive) -> bytes | int:
    """The request body, or the length to refuse it for (over ``MAX_BODY_BYTES``)."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                return -1
            if declared > MAX_BODY_BYTES or declared < 0:
                return declared
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return size
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _request(scope: Scope, body: bytes) -> Request:
    root = str(scope.get("root_path", "")).rstrip("/")
    path = str(scope.get("path", "/"))
    # Servers and routers disagree on whether ``path`` includes ``root_path`` (Starlette's
    # Mount and recent uvicorn do): take the part below the mount point either way.
    if root and (path == root or path.startswith(root + "/")):
        path = path[len(root) :]
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name in headers:
            value = headers[name] + ("; " if name == "cookie" else ", ") + value
        headers[name] = value
    client = scope.get("client")
    return Request(
        method=str(scope.get("method", "GET")).upper(),
        path=path or "/",
        query=bytes(scope.get("query_string", b"")).decode("utf-8", "replace"),
        headers=headers,
        body=body,
        client=str(client[0]) if client else "unknown",
        root=root,
        secure=scope.get("scheme") == "https",
    )


async def _send(send: Send, response: Response) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    headers.append((b"content-length", str(len(response.body)).encode("ascii")))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


__all__ = ["asgi_adapter"]
