"""The sign-in page, the one page shown to a caller without a session."""

from __future__ import annotations

from ._html import Markup, el
from ._layout import alert, document


def login_page(root: str, *, error: str | None = None) -> Markup:
    """The token form, posting to ``{root}/login``, with ``error`` above it if given."""
    body = el(
        "main",
        el(
            "section",
            el("h1", "tenantdb console"),
            alert(error) if error else None,
            el(
                "form",
                el("label", "Console token", for_="token"),
                el(
                    "input",
                    type="password",
                    id="token",
                    name="token",
                    autocomplete="current-password",
                    required=True,
                    autofocus=True,
                ),
                el("p", el("button", "Sign in", type="submit")),
                method="post",
                action=f"{root}/login",
            ),
            el(
                "p",
                "Scripts may send the token as Authorization: Bearer <token> instead.",
                class_="note",
            ),
            class_="card login",
        ),
    )
    return document("Sign in", root, body)


__all__ = ["login_page"]
