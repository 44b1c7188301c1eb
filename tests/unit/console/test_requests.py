"""The console's request core: which path answers what, who gets in, what refuses a form,
and what the actions change (through a real cluster that never connects)."""

from __future__ import annotations

import html
import logging
import re

import pytest

import tenantdb
from tenantdb.console import asgi_app, wsgi_app
from tenantdb.console._console import CONTENT_SECURITY_POLICY, COOKIE, Console
from tenantdb.console._http import Request
from tenantdb.console._vantage import InProcess

from .conftest import CONFIG, HOST, TOKEN, Client, csrf_of, text

PAGES = {"/": "Topology", "/tenants": "Tenants", "/slow": "Slow statements", "/explain": "Explain"}


# -- routing --------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "title"), PAGES.items())
def test_each_page_answers_with_its_title(script: Client, path: str, title: str) -> None:
    response = script.get(path)
    assert response.status == 200
    assert response.header("Content-Type") == "text/html; charset=utf-8"
    assert f"<h1>{title}</h1>" in text(response)


def test_an_unknown_path_is_404_once_signed_in(script: Client) -> None:
    assert script.get("/nowhere").status == 404
    assert Client(script.console).get("/nowhere").status == 401  # nothing said before sign-in


@pytest.mark.parametrize("path", ["/switch/force", "/switch/release", "/tenants/status", "/logout"])
def test_actions_answer_post_only(script: Client, path: str) -> None:
    response = script.get(path)
    assert response.status == 405
    assert response.header("Allow") == "POST"


def test_pages_other_than_explain_refuse_post(script: Client) -> None:
    response = script.post("/tenants", {"csrf": script.csrf()})
    assert response.status == 405
    assert response.header("Allow") == "GET"


def test_the_stylesheet_and_sign_in_page_need_no_token(console: Console) -> None:
    anonymous = Client(console)
    css = anonymous.get("/console.css")
    assert css.status == 200
    assert css.header("Content-Type") == "text/css; charset=utf-8"
    login = anonymous.get("/login")
    assert login.status == 200
    assert 'name="token"' in text(login)


def test_head_answers_like_get_without_a_body(script: Client) -> None:
    response = script.request("HEAD", "/tenants")
    assert response.status == 200
    assert response.body == b""


@pytest.mark.parametrize("path", ["/", "/console.css", "/login", "/nowhere", "/switch/force"])
def test_every_answer_carries_the_security_headers(console: Console, path: str) -> None:
    for client in (Client(console), Client(console, bearer=True)):
        response = client.get(path)
        assert response.header("Content-Security-Policy") == CONTENT_SECURITY_POLICY
        assert response.header("X-Frame-Options") == "DENY"
        assert response.header("X-Content-Type-Options") == "nosniff"
    assert "script-src 'none'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY


# -- who gets in ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*PAGES, "/switch/force"])
def test_no_credentials_get_401_and_the_sign_in_form(console: Console, path: str) -> None:
    response = Client(console).request("GET" if path in PAGES else "POST", path, form={})
    assert response.status == 401
    assert response.header("WWW-Authenticate") == 'Bearer realm="tenantdb console"'
    assert 'action="/login"' in text(response)


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ", f"Basic {TOKEN}", TOKEN],
)
def test_a_wrong_authorization_header_gets_401(console: Console, authorization: str) -> None:
    response = Client(console).get("/", headers={"Authorization": authorization})
    assert response.status == 401


def test_a_wrong_header_is_not_rescued_by_a_good_cookie(browser: Client) -> None:
    response = browser.get("/", headers={"Authorization": "Bearer wrong-token-wrong-token"})
    assert response.status == 401


def test_signing_in_sets_a_strict_httponly_cookie_without_the_token(console: Console) -> None:
    client = Client(console)
    response = client.sign_in()
    assert response.status == 303
    assert response.header("Location") == "/"
    cookie = response.header("Set-Cookie") or ""
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/;" in cookie
    assert TOKEN not in cookie
    assert client.get("/tenants").status == 200


def test_a_wrong_token_on_the_sign_in_form_gets_401(console: Console) -> None:
    response = Client(console).post("/login", {"token": TOKEN + "!"})
    assert response.status == 401
    assert response.header("Set-Cookie") is None
    assert "That is not the console token." in text(response)


def _altered(cookie: str) -> list[str]:
    version, issued, nonce, signature = cookie.split(".")
    flipped = "A" if signature[0] != "A" else "B"
    return [
        f"{version}.{issued}.{nonce}.{flipped}{signature[1:]}",  # signature altered
        f"{version}.{issued}.{nonce}x.{signature}",  # another session's nonce
        f"{version}.{int(issued) + 3600}.{nonce}.{signature}",  # issued later
        f"{version}.{issued}.{nonce}",  # unsigned
        TOKEN,  # the token itself is no cookie
        "",
    ]


def test_an_altered_or_forged_cookie_is_refused_and_cleared(browser: Client) -> None:
    assert browser.cookie is not None
    for forged in _altered(browser.cookie):
        intruder = Client(browser.console)
        intruder.cookie = forged
        response = intruder.get("/")
        assert response.status == 401, forged
        assert f"{COOKIE}=;" in (response.header("Set-Cookie") or ""), forged
    assert browser.get("/").status == 200  # the real one still works


def test_a_cookie_signed_with_another_token_is_refused(cluster: tenantdb.Cluster) -> None:
    other_token = "another-console-token-0000"
    before = Client(Console(InProcess(cluster), token=other_token))
    before.sign_in(other_token)
    after = Client(Console(InProcess(cluster), token=TOKEN))
    after.cookie = before.cookie
    assert after.get("/").status == 401


def test_a_session_ends_after_its_max_age(cluster: tenantdb.Cluster) -> None:
    console = Console(InProcess(cluster), token=TOKEN, session_max_age_s=60.0)
    client = Client(console)
    client.sign_in()
    now = [0.0]
    console.gate._clock = lambda: now[0]
    assert client.cookie is not None
    issued = int(client.cookie.split(".")[1])
    now[0] = issued + 59
    assert client.get("/").status == 200
    now[0] = issued + 61
    assert client.get("/").status == 401


def test_signing_out_clears_the_cookie(browser: Client) -> None:
    response = browser.post("/logout", {"csrf": browser.csrf()})
    assert response.status == 303
    assert f"{COOKIE}=;" in (response.header("Set-Cookie") or "")
    assert "Max-Age=0" in (response.header("Set-Cookie") or "")


@pytest.mark.parametrize("token", [None, "", "short", " padded-console-token-0000 ", 42])
def test_no_app_is_built_without_a_proper_token(cluster: tenantdb.Cluster, token: object) -> None:
    for build in (asgi_app, wsgi_app):
        with pytest.raises(tenantdb.InterfaceError) as raised:
            build(cluster, token=token)  # type: ignore[arg-type]
        assert "token" in str(raised.value)
    with pytest.raises(tenantdb.InterfaceError, match="TENANTDB_CONSOLE_TOKEN"):
        wsgi_app(cluster, token=None)  # type: ignore[arg-type]


# -- forms: CSRF and origin -----------------------------------------------------------------


def _force(client: Client, **extra: str) -> dict[str, str]:
    return {"datasource": "ds0", "reason": "maintenance", **extra}


def test_a_post_without_the_csrf_token_is_refused(
    browser: Client, cluster: tenantdb.Cluster
) -> None:
    response = browser.post("/switch/force", _force(browser))
    assert response.status == 403
    assert "CSRF" in text(response)
    assert cluster.status()["datasources"]["ds0"]["forced"] is None


def test_another_sessions_csrf_token_is_refused(browser: Client, cluster: tenantdb.Cluster) -> None:
    other = Client(browser.console)
    other.sign_in()
    response = browser.post("/switch/force", _force(browser, csrf=other.csrf()))
    assert response.status == 403
    assert cluster.status()["datasources"]["ds0"]["forced"] is None
    assert other.csrf() != browser.csrf()


def test_bearer_callers_need_the_csrf_token_too(script: Client, cluster: tenantdb.Cluster) -> None:
    assert script.post("/switch/force", _force(script)).status == 403
    assert script.post("/switch/force", _force(script, csrf=script.csrf())).status == 303
    assert cluster.status()["datasources"]["ds0"]["forced"] == "maintenance"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": f"http://{HOST}.evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_a_cross_site_post_is_refused_even_with_the_token(
    browser: Client, cluster: tenantdb.Cluster, headers: dict[str, str]
) -> None:
    response = browser.post("/switch/force", _force(browser, csrf=browser.csrf()), headers=headers)
    assert response.status == 403
    assert cluster.status()["datasources"]["ds0"]["forced"] is None


def test_a_same_origin_post_is_accepted(browser: Client, cluster: tenantdb.Cluster) -> None:
    headers = {"Origin": f"http://{HOST}", "Sec-Fetch-Site": "same-origin"}
    response = browser.post("/switch/force", _force(browser, csrf=browser.csrf()), headers=headers)
    assert response.status == 303
    assert cluster.status()["datasources"]["ds0"]["forced"] == "maintenance"


def test_a_trusted_origin_is_accepted(cluster: tenantdb.Cluster) -> None:
    console = Console(InProcess(cluster), token=TOKEN, trusted_origins=["https://ops.example/"])
    client = Client(console, bearer=True)
    form = _force(client, csrf=client.csrf())
    assert (
        client.post("/switch/force", form, headers={"Origin": "https://ops.example"}).status == 303
    )
    assert client.post("/switch/force", form, headers={"Origin": "https://x.example"}).status == 403


def test_a_cross_site_sign_in_is_refused(console: Console) -> None:
    response = Client(console).post(
        "/login", {"token": TOKEN}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status == 403
    assert response.header("Set-Cookie") is None


def test_a_form_of_another_content_type_is_refused(script: Client) -> None:
    response = script.console.handle(
        Request(
            "POST",
            "/switch/force",
            headers={"authorization": f"Bearer {TOKEN}", "content-type": "application/json"},
            body=b'{"datasource": "ds0"}',
        )
    )
    assert response.status == 415


# -- actions --------------------------------------------------------------------------------


def test_force_and_release_a_datasource_with_audit_lines(
    browser: Client, cluster: tenantdb.Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tenantdb.console.audit")
    response = browser.post("/switch/force", _force(browser, csrf=browser.csrf()))
    assert response.status == 303
    assert response.header("Location") == "/"
    assert cluster.status()["datasources"]["ds0"]["forced"] == "maintenance"
    assert cluster.status()["datasources"]["ds1"]["forced"] is None
    page = text(browser.get("/"))
    assert "reads of datasource ds0 go to the primary in this process" in page  # the flash
    assert "reads forced to the primary: maintenance" in page
    assert "reads of datasource ds0 go to the primary" not in text(browser.get("/"))  # once

    response = browser.post("/switch/release", {"datasource": "ds0", "csrf": browser.csrf()})
    assert response.status == 303
    assert cluster.status()["datasources"]["ds0"]["forced"] is None

    lines = [r for r in caplog.records if r.name == "tenantdb.console.audit"]
    actions = [(r.console_action, r.client, r.auth, r.subject) for r in lines]  # type: ignore[attr-defined]
    assert actions == [
        ("force_primary", "203.0.113.7", "session", {"datasource": "ds0", "reason": "maintenance"}),
        ("release_primary", "203.0.113.7", "session", {"datasource": "ds0"}),
    ]
    assert all(r.levelno == logging.INFO for r in lines)
    assert lines[0].getMessage().startswith("console action force_primary by 203.0.113.7")
    assert "ok:" in lines[0].getMessage()


def test_force_every_datasource(script: Client, cluster: tenantdb.Cluster) -> None:
    form = {"datasource": "", "reason": "failover drill", "csrf": script.csrf()}
    assert script.post("/switch/force", form).status == 303
    assert cluster.status()["switch"]["forced"] == "failover drill"
    assert cluster.status()["datasources"]["ds1"]["forced"] == "failover drill"
    release = {"datasource": "", "csrf": script.csrf()}
    assert script.post("/switch/release", release).status == 303
    assert cluster.status()["switch"]["forced"] is None


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"datasource": "ds0", "reason": "  "}, 400, "say why"),
        ({"datasource": "ds9", "reason": "x"}, 400, "no datasource 'ds9'"),
        ({"datasource": "ds0", "reason": "x" * 501}, 400, "at most 500"),
    ],
)
def test_a_refused_switch_changes_nothing_and_is_audited(
    script: Client,
    cluster: tenantdb.Cluster,
    caplog: pytest.LogCaptureFixture,
    form: dict[str, str],
    status: int,
    message: str,
) -> None:
    caplog.set_level(logging.INFO, logger="tenantdb.console.audit")
    response = script.post("/switch/force", {**form, "csrf": script.csrf()})
    assert response.status == status
    assert html.escape(message) in text(response)
    assert all(entry["forced"] is None for entry in cluster.status()["datasources"].values())
    (line,) = [r for r in caplog.records if r.name == "tenantdb.console.audit"]
    assert line.levelno == logging.WARNING
    assert "refused:" in line.getMessage()


def test_suspending_a_tenant_keeps_its_other_fields(
    script: Client, cluster: tenantdb.Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tenantdb.console.audit")
    before = cluster.tenants.get("acme")
    form = {"tenant": "acme", "status": "suspended", "q": "ac", "csrf": script.csrf()}
    response = script.post("/tenants/status", form)
    assert response.status == 303
    assert response.header("Location") == "/tenants?q=ac"
    after = cluster.tenants.get("acme")
    assert after.status == "suspended"
    assert after.version == before.version + 1
    assert (after.datasource, after.limits, after.isolation) == (
        before.datasource,
        before.limits,
        before.isolation,
    )
    script.post("/tenants/status", {**form, "status": "read_only"})
    assert cluster.tenants.get("acme").status == "read_only"
    (first, second) = [r for r in caplog.records if r.name == "tenantdb.console.audit"]
    assert first.subject == {"tenant": "acme", "status": "suspended"}  # type: ignore[attr-defined]
    assert "tenant acme is suspended" in first.getMessage()
    assert second.subject["status"] == "read_only"  # type: ignore[attr-defined]


def test_an_unknown_tenant_is_not_created(script: Client, cluster: tenantdb.Cluster) -> None:
    form = {"tenant": "nobody", "status": "suspended", "csrf": script.csrf()}
    response = script.post("/tenants/status", form)
    assert response.status == 404
    assert "nobody" not in [t.id for t in cluster.tenants.list()]


def test_an_unknown_status_is_refused(script: Client, cluster: tenantdb.Cluster) -> None:
    form = {"tenant": "acme", "status": "deleted", "csrf": script.csrf()}
    assert script.post("/tenants/status", form).status == 400
    assert cluster.tenants.get("acme").status == "active"


# -- pages ----------------------------------------------------------------------------------


def test_topology_shows_datasources_replicas_and_no_password(script: Client) -> None:
    page = text(script.get("/"))
    assert 'id="ds-ds0"' in page
    assert 'id="ds-ds1"' in page
    assert 'data-endpoint="ds0/replica0"' in page
    assert "not started" in page  # the replica's monitor starts with the first statement
    assert "s3cret-pw" not in page
    assert "postgresql://app:***@127.0.0.1:1/shard0" in page
    assert "Mounted in the application" in page
    assert "not open" in page


def test_tenants_page_searches_by_id_substring(script: Client) -> None:
    everyone = text(script.get("/tenants"))
    assert "3 of 3 tenants match" in everyone
    assert 'data-tenant="acme"' in everyone
    found = text(script.get("/tenants", query="q=GLOB"))
    assert "1 of 3 tenants match" in found
    assert 'data-tenant="globex"' in found
    assert 'data-tenant="acme"' not in found
    assert "requests_per_second 5.0, burst 7" in everyone


def test_tenants_page_shows_refusals_counted_by_the_guards(
    script: Client, cluster: tenantdb.Cluster
) -> None:
    guards = cluster.datasources.guards
    guards._count("acme", "refused_rate")
    guards._count("acme", "refused_rate")
    row = re.search(r'<tr data-tenant="acme">.*?</tr>', text(script.get("/tenants")))
    assert row is not None
    assert "refused rate 2" in row.group(0)


def test_explain_shows_the_plan_and_connects_nowhere(script: Client) -> None:
    form = {
        "sql": "SELECT id FROM orders WHERE id = %s",
        "params": "[7]",
        "tenant": "acme",
        "csrf": script.csrf("/explain"),
    }
    page = text(script.post("/explain", form))
    assert 'id="plan-targets"' in page
    assert "<td>ds0</td>" in page
    assert "orders.tenant_id = %s" in page
    assert "SELECT id FROM orders WHERE id = %s</textarea>" in page  # the box keeps its SQL


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sql": "SELECT 1 FROM orders", "params": "[1", "tenant": ""}, "not valid JSON"),
        ({"sql": "SELECT 1 FROM orders", "params": "7", "tenant": ""}, "JSON array"),
        ({"sql": "SELECT 1 FROM orders", "params": "", "tenant": "nobody"}, "UnknownTenantError"),
        ({"sql": "DROP TABLE orders", "params": "", "tenant": "acme"}, "Error"),
        ({"sql": "SELEC 1 FROM orders", "params": "", "tenant": ""}, "SQLSyntaxError"),
    ],
)
def test_explain_reports_what_is_wrong(
    script: Client, fields: dict[str, str], message: str
) -> None:
    response = script.post("/explain", {**fields, "csrf": script.csrf("/explain")})
    assert response.status == 200
    page = text(response)
    assert 'id="explain-error"' in page
    assert message in page
    assert 'id="plan-targets"' not in page


def test_slow_statements_render_from_the_log(
    script: Client, cluster: tenantdb.Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = {
        "at": 1_800_000_000.25,
        "tenant": "acme",
        "sql": "SELECT * FROM orders WHERE note = %s",
        "params": None,
        "duration_s": 1.5,
        "route": "single",
        "targets": [
            {
                "datasource": "ds0",
                "role": "replica",
                "sql": "SELECT * FROM orders WHERE orders.tenant_id = $1 AND note = $2",
                "tables": {"orders": "orders"},
            }
        ],
        "error": None,
    }
    monkeypatch.setattr(cluster, "slow_statements", lambda: [entry])
    page = text(script.get("/slow"))
    assert "2027-01-15 08:00:00.250" in page
    assert "1.500 s" in page
    assert "ds0 (replica)" in page
    assert "SELECT * FROM orders WHERE note = %s" in page
    assert "<summary>plan</summary>" in page
    assert "WHERE orders.tenant_id = $1 AND note = $2" in page  # the physical statement
    assert "params:" not in page  # none were logged


def test_the_slow_page_says_when_the_log_is_off(cluster: tenantdb.Cluster) -> None:
    config = {**CONFIG, "telemetry": {"slow_statement": None}}
    with tenantdb.connect(config) as quiet:
        page = text(Client(Console(InProcess(quiet), token=TOKEN), bearer=True).get("/slow"))
    assert "The slow-statement log is off" in page
    page = text(Client(Console(InProcess(cluster), token=TOKEN), bearer=True).get("/slow"))
    assert "ran 1 s or longer" in page  # the default threshold
    assert "No slow statement has been logged." in page


def test_links_and_cookie_follow_the_mount_point(console: Console) -> None:
    client = Client(console, root="/ops/console")
    response = client.sign_in()
    assert response.header("Location") == "/ops/console/"
    assert "Path=/ops/console;" in (response.header("Set-Cookie") or "")
    page = text(client.get("/"))
    assert 'href="/ops/console/tenants"' in page
    assert 'href="/ops/console/console.css"' in page
    assert 'action="/ops/console/switch/force"' in page
    assert csrf_of(client.get("/")) == client.csrf()


def test_the_console_repr_says_where_it_stands_and_hides_the_token(console: Console) -> None:
    shown = repr(console)
    assert shown.startswith("<Console in-process pid ")
    assert TOKEN not in shown
    assert TOKEN not in repr(console.gate)
