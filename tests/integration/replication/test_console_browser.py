"""The operator's console in a real browser: Debian's Chromium, driven by Playwright,
against a cluster on PostgreSQL with its streaming replica.

Three ways of serving it, as operators would:

- the FastAPI example (``examples/console_app.py``: ``asgi_app`` mounted at ``/console``)
  on a small HTTP server of this module (uvicorn is not a dependency);
- ``wsgi_app`` over a thread-front cluster, served by ``wsgiref``;
- ``tenantdb console`` standalone, in a process of its own, switching the application's
  process through the configuration's ``switch_file``.

Each test signs in, loads every page and checks what it shows, flips the read-to-primary
switch in the page and sees the application's reads move to the primary and back, and
saves screenshots under its ``tmp_path`` (and in ``$TENANTDB_SCREENSHOTS`` when set).
Requests without the token are refused, and a tenant whose id is a script tag shows as
text without running. One browser serves the whole module.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import select
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http import HTTPStatus
from pathlib import Path
from socketserver import ThreadingMixIn
from types import ModuleType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

import tenantdb
from tenantdb.console import wsgi_app

from ..conftest import _unavailable
from .conftest import PgReplica

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS_ENV = "TENANTDB_SCREENSHOTS"
TOKEN = "browser-test-console-token-0123456789"
SCRIPT_ID = "<script>alert('pwned')</script>"
HANG_GUARD_S = 30.0
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "console_app.py"

pytestmark = pytest.mark.postgres


# -- the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module (Debian's package, never a downloaded one)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"the browser tests need Playwright: pip install playwright ({exc})")
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"no Chromium at {CHROMIUM}: apt-get install chromium (scripts/services.sh)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Tab:
    """One browser page on the console, recording dialogs (none may open) and saving
    screenshots."""

    def __init__(self, browser: Any, base: str, shots: Path, prefix: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(HANG_GUARD_S * 1000)
        self.base = base
        self.shots = shots
        self.prefix = prefix
        self.dialogs: list[str] = []
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def go(self, path: str) -> Any:
        return self.page.goto(self.base + path)

    def text(self, selector: str) -> str:
        return str(self.page.inner_text(selector))

    def sign_in(self) -> None:
        response = self.go("/")
        assert response.status == 401  # no token yet: refused, with the sign-in form
        self.page.fill("#token", TOKEN)
        self.page.click("form[action$='/login'] button")
        self.page.wait_for_selector("h1:has-text('Topology')")

    def shoot(self, name: str) -> Path:
        path = self.shots / f"{self.prefix}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
        stable = os.environ.get(SCREENSHOTS_ENV)
        if stable:
            Path(stable).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(stable) / path.name)
        return path

    def close(self) -> None:
        self.context.close()


@contextlib.contextmanager
def tab(browser: Any, base: str, shots: Path, prefix: str) -> Iterator[Tab]:
    """A page on the console at ``base``; screenshots named ``<prefix>-<what>.png``."""
    opened = Tab(browser, base, shots, prefix)
    try:
        yield opened
    finally:
        opened.close()


# -- the cluster ----------------------------------------------------------------------------


def _database(replica: PgReplica) -> str:
    """A fresh database with acme's order 1, on the standby too."""
    name = replica.new_database()
    url = replica.primary_url(name)
    replica.query(url, "CREATE TABLE orders (id int PRIMARY KEY, tenant_id text, amount int)")
    replica.query(url, "INSERT INTO orders VALUES (1, 'acme', 30)")
    replica.wait_caught_up()
    return name


def _config(replica: PgReplica, name: str, tmp_path: Path) -> dict[str, Any]:
    return {
        "dialect": "postgres",
        "switch_file": str(tmp_path / "switches.json"),
        "datasources": {
            "ds0": {
                "url": replica.primary_url(name),
                "replicas": [replica.replica_url(name)],
                "lag_check_interval": "0.2s",
            }
        },
        "tables": {"orders": {"strategy": "tenant"}},
        # Every statement is "slow", so the slow-statement page has the test's reads.
        "telemetry": {"slow_statement": "0s"},
        "registry": {"url": f"sqlite:///{tmp_path / 'tenants.db'}"},
        "tenants": {"acme": {"datasource": "ds0"}, SCRIPT_ID: {"datasource": "ds0"}},
    }


def _eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not after {HANG_GUARD_S:g} s")
        time.sleep(0.1)


def _role_of_a_read(cluster: tenantdb.Cluster) -> str:
    with cluster.session(tenant="acme") as session:
        result = session.execute("SELECT id, amount FROM orders WHERE id = %s", (1,))
        assert result.fetchall() == [(1, 30)]
        return result.targets[0].role


# -- what every mounted console must show and do --------------------------------------------


def _check_mounted_console(tab: Tab, read_role: Callable[[], str], cluster: Any) -> None:
    """Sign in, check each page, switch reads to the primary and back in the page."""
    _eventually(lambda: read_role() == "replica", "a read served by the replica")
    tab.sign_in()
    assert "Mounted in the application" in tab.text("#vantage")
    _eventually_serving(tab)
    ds0 = tab.text("#ds-ds0")
    assert "replicas serve reads" in ds0
    assert "closed" in tab.text("tr[data-endpoint='ds0/replica0']")  # its breaker, used
    assert "size" in tab.text("tr[data-endpoint='ds0/replica0']")  # its pool, open
    assert "Tenant limits in this process" in tab.text("main")
    tab.shoot("topology")

    tab.page.fill("#ds-ds0 input[name=reason]", "failover drill")
    tab.page.click("#ds-ds0 button.danger")
    tab.page.wait_for_selector("div.flash")
    assert "reads forced to the primary: failover drill" in tab.text("#ds-ds0")
    assert cluster.status()["datasources"]["ds0"]["forced"] == "failover drill"
    assert read_role() == "primary"
    tab.shoot("topology-forced")
    tab.page.click("#ds-ds0 button.secondary")
    tab.page.wait_for_selector("div.flash")
    assert "replicas serve reads" in tab.text("#ds-ds0")
    assert read_role() == "replica"

    _check_tenants_page(tab)
    tab.page.click("tr[data-tenant='acme'] button.danger")  # suspend
    tab.page.wait_for_selector("div.flash")
    assert "suspended" in tab.text("tr[data-tenant='acme'] .tenant-status")
    with pytest.raises(tenantdb.TenantStatusError):
        read_role()
    tab.page.click("tr[data-tenant='acme'] button:has-text('Activate')")
    tab.page.wait_for_selector("div.flash")
    assert read_role() == "replica"

    _check_explain_page(tab)
    tab.go("/slow")
    assert "ran 0 s or longer" in tab.text("#slow-threshold")
    slow = tab.text("#slow")
    assert "SELECT id, amount FROM orders WHERE id = %s" in slow
    assert "ds0 (replica)" in slow
    assert "ds0 (primary)" in slow  # the reads while the switch was on
    tab.shoot("slow")
    assert tab.dialogs == []


def _eventually_serving(tab: Tab) -> None:
    def serving() -> bool:
        tab.page.reload()
        return "serving" in tab.text("tr[data-endpoint='ds0/replica0']")

    _eventually(serving, "the topology page showing the replica serving")
    lag = tab.text("tr[data-endpoint='ds0/replica0'] td:nth-child(4)")
    assert lag.endswith(" s"), lag


def _check_tenants_page(tab: Tab) -> None:
    tab.go("/tenants")
    assert "2 of 2 tenants match" in tab.text("#tenant-count")
    # The script tenant's id is text: shown as written, and nothing ran.
    assert SCRIPT_ID in tab.page.locator("td.tenant-id code").all_inner_texts()
    assert tab.page.locator("script").count() == 0
    assert tab.dialogs == []
    tab.shoot("tenants")
    tab.page.fill("input[name=q]", "acm")
    tab.page.click("form[action$='/tenants'] button")
    tab.page.wait_for_selector("text=1 of 2 tenants match")


def _check_explain_page(tab: Tab) -> None:
    tab.go("/explain")
    tab.page.fill("#sql", "SELECT id, amount FROM orders WHERE id = %s")
    tab.page.fill("#params", "[1]")
    tab.page.fill("#tenant", "acme")
    tab.page.click("main button:has-text('Explain')")
    tab.page.wait_for_selector("#plan-targets")
    targets = tab.text("#plan-targets")
    assert "ds0" in targets
    assert "replica" in targets
    assert "orders.tenant_id = %s" in targets
    tab.shoot("explain")


def _refused_without_token(base: str) -> None:
    for path in ("/", "/tenants", "/explain"):
        request = urllib.request.Request(base + path)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=HANG_GUARD_S)
        refused.value.close()
        assert refused.value.code == HTTPStatus.UNAUTHORIZED
    forged = urllib.request.Request(
        base + "/switch/force",
        data=b"datasource=&reason=x",
        headers={"Cookie": "tenantdb_console=v1.1.abc.forged"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=HANG_GUARD_S)
    refused.value.close()
    assert refused.value.code == HTTPStatus.UNAUTHORIZED


def _check_cookie(tab: Tab) -> None:
    (cookie,) = tab.context.cookies()
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert TOKEN not in cookie["value"]


# -- WSGI ------------------------------------------------------------------------------------


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def wsgi_served(app: Any, mount: str) -> Iterator[str]:
    """``app`` served on a free loopback port under ``mount``; yields the base URL."""

    def mounted(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(mount):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not mounted here\n"]
        environ["SCRIPT_NAME"], environ["PATH_INFO"] = mount, path[len(mount) :] or "/"
        return app(environ, start_response)

    server = make_server(
        "127.0.0.1", 0, mounted, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{mount}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(HANG_GUARD_S)


def test_wsgi_console_in_chromium(
    replica: PgReplica, browser: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="tenantdb.console.audit")
    name = _database(replica)
    with tenantdb.connect(_config(replica, name, tmp_path)) as cluster:
        app = wsgi_app(cluster, token=TOKEN)
        with wsgi_served(app, "/ops") as base, tab(browser, base, tmp_path, "wsgi") as opened:
            _refused_without_token(base)
            _check_mounted_console(opened, lambda: _role_of_a_read(cluster), cluster)
            _check_cookie(opened)
    audited = [r.getMessage() for r in caplog.records if r.name == "tenantdb.console.audit"]
    actions = [line.split()[2] for line in audited if line.startswith("console action")]
    # switch on, off; suspend, activate
    assert actions == ["force_primary", "release_primary", "set_tenant_status", "set_tenant_status"]
    assert all("by 127.0.0.1 (session)" in line for line in audited if "action" in line)


# -- ASGI: the FastAPI example ---------------------------------------------------------------


class AsgiServer:
    """A small HTTP/1.1 server for one ASGI application, on an event loop of its own
    thread: the lifespan protocol at start and stop, one request per connection."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._lifespan: asyncio.Queue[dict[str, Any]] | None = None
        self._lifespan_task: asyncio.Future[Any] | None = None

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(HANG_GUARD_S)

    def start(self) -> str:
        self._thread.start()
        self.run(self._start())
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    def stop(self) -> None:
        try:
            self.run(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(HANG_GUARD_S)
            self.loop.close()

    async def _start(self) -> None:
        self._lifespan = asyncio.Queue()
        answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._answers = answers

        async def receive() -> dict[str, Any]:
            assert self._lifespan is not None
            return await self._lifespan.get()

        async def send(message: dict[str, Any]) -> None:
            await answers.put(message)

        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._lifespan_task = asyncio.ensure_future(self.app(scope, receive, send))
        await self._lifespan.put({"type": "lifespan.startup"})
        started = await answers.get()
        assert started["type"] == "lifespan.startup.complete", started
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def _stop(self) -> None:
        assert self._server is not None
        assert self._lifespan is not None
        self._server.close()
        await self._server.wait_closed()
        await self._lifespan.put({"type": "lifespan.shutdown"})
        stopped = await self._answers.get()
        assert stopped["type"] == "lifespan.shutdown.complete", stopped
        assert self._lifespan_task is not None
        await self._lifespan_task

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        request_line, *lines = head.decode("latin-1").split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = [
            (name.strip().lower().encode("latin-1"), value.strip().encode("latin-1"))
            for name, _, value in (line.partition(":") for line in lines if line)
        ]
        length = int(dict(headers).get(b"content-length", b"0"))
        body = await reader.readexactly(length) if length else b""
        path, _, query = target.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": urllib.parse.unquote(path),
            "raw_path": path.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "root_path": "",
            "headers": headers,
            "client": writer.get_extra_info("peername")[:2],
            "server": writer.get_extra_info("sockname")[:2],
            "state": {},
        }
        received = False

        async def receive() -> dict[str, Any]:
            nonlocal received
            if received:
                await asyncio.Event().wait()  # the body was read; wait for a disconnect
            received = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status = HTTPStatus(message["status"])
                writer.write(f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode())
                for name, value in message.get("headers", ()):
                    writer.write(name + b": " + value + b"\r\n")
                writer.write(b"Connection: close\r\n\r\n")
            elif message["type"] == "http.response.body":
                writer.write(message.get("body", b""))

        try:
            await self.app(scope, receive, send)
            await writer.drain()
        finally:
            writer.close()


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tenantdb_console_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fastapi_example_console_in_chromium(
    replica: PgReplica, browser: Any, tmp_path: Path
) -> None:
    pytest.importorskip("fastapi")
    example = _load_example()
    name = _database(replica)
    app = example.create_app(_config(replica, name, tmp_path), token=TOKEN)
    server = AsgiServer(app)
    base = server.start()
    try:

        def read_role() -> str:
            request = urllib.request.Request(f"{base}/orders/1", headers={"X-Tenant": "acme"})
            try:
                with urllib.request.urlopen(request, timeout=HANG_GUARD_S) as answer:
                    order = json.loads(answer.read())
            except urllib.error.HTTPError as exc:
                exc.close()
                if exc.code == HTTPStatus.FORBIDDEN:  # the example's answer to a suspension
                    raise tenantdb.TenantStatusError("suspended") from None
                raise
            assert (order["id"], order["amount"]) == (1, 30)
            return str(order["served_by"])

        with tab(browser, f"{base}/console", tmp_path, "fastapi") as opened:
            _refused_without_token(f"{base}/console")
            _check_mounted_console(opened, read_role, app.state.cluster)
            _check_cookie(opened)
            assert opened.page.get_attribute("header nav a", "href") == "/console/"
    finally:
        server.stop()


# -- standalone ------------------------------------------------------------------------------


@contextlib.contextmanager
def standalone_console(config: Path, tmp_path: Path) -> Iterator[str]:
    """``tenantdb console -c config --port 0`` in a process of its own; yields its URL."""
    token_file = tmp_path / "console.token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    command = [
        sys.executable,
        "-c",
        "from tenantdb.cli import main; main()",
        "console",
        "-c",
        str(config),
        "--port",
        "0",
        "--token-file",
        str(token_file),
    ]
    log = (tmp_path / "console.log").open("w")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], HANG_GUARD_S)
        line = process.stdout.readline() if ready else ""
        assert "http://127.0.0.1:" in line, (line, (tmp_path / "console.log").read_text())
        yield line.split()[3].rstrip("/")
    finally:
        process.terminate()
        process.wait(HANG_GUARD_S)
        if process.stdout is not None:
            process.stdout.close()
        log.close()


def test_standalone_console_in_chromium(replica: PgReplica, browser: Any, tmp_path: Path) -> None:
    name = _database(replica)
    config = _config(replica, name, tmp_path)
    config_file = tmp_path / "tenantdb.json"
    config_file.write_text(json.dumps(config))
    switch_file = Path(config["switch_file"])
    with (
        tenantdb.connect(config) as application,
        standalone_console(config_file, tmp_path) as base,
        tab(browser, base, tmp_path, "standalone") as opened,
    ):
        _eventually(lambda: _role_of_a_read(application) == "replica", "a replica read")
        _refused_without_token(base)
        opened.sign_in()
        assert "Standalone console" in opened.text("#vantage")
        assert "cannot see the pools, circuit breakers" in opened.text("#vantage")
        _eventually_serving(opened)  # lag measured by the console's own monitors
        assert "per process" in opened.text("tr[data-endpoint='ds0/replica0']")
        assert str(switch_file) in opened.text("#cluster")
        opened.shoot("topology")

        opened.page.fill("#cluster input[name=reason]", "standby maintenance")
        opened.page.click("#cluster button.danger")
        opened.page.wait_for_selector("div.flash")
        assert json.loads(switch_file.read_text())["cluster"] == "standby maintenance"
        assert "forced to primaries: standby maintenance" in opened.text("#cluster")
        _eventually(
            lambda: _role_of_a_read(application) == "primary",
            "the application's reads on the primary after the standalone switch",
        )
        opened.shoot("topology-forced")
        opened.page.click("#cluster button.secondary")
        opened.page.wait_for_selector("div.flash")
        assert json.loads(switch_file.read_text())["cluster"] is None
        _eventually(
            lambda: _role_of_a_read(application) == "replica",
            "the application's reads back on the replica after the release",
        )

        opened.go("/tenants")
        assert SCRIPT_ID in opened.page.locator("td.tenant-id code").all_inner_texts()
        opened.page.click("tr[data-tenant='acme'] button.danger")  # suspend, in the registry
        opened.page.wait_for_selector("div.flash")

        def refused() -> bool:
            try:
                _role_of_a_read(application)
            except tenantdb.TenantStatusError:
                return True
            return False

        _eventually(refused, "the application refusing the tenant suspended from outside")
        opened.go("/slow")
        assert "a standalone console has none" in opened.text("main")
        assert opened.dialogs == []
