"""``StoreUrl``: a tenant store's URL (or the shared cache's), read one way for every store.

A store's settings ride in its URL: the path (the file store's document, the etcd key
prefix) and options in the query string (``?table=`` for PostgreSQL, ``?prefix=`` for Redis
and the shared cache, ``?poll_interval=`` for SQLite and the file store). An option written
twice counts with its last value. A URL a store cannot use is a ConfigError at the
configuration key the URL came from, showing the URL without its password and saying what
to write instead.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Collection
from dataclasses import dataclass

from ...config import redact_url
from ...errors import ConfigError, ConfigProblem


@dataclass(frozen=True, slots=True)
class StoreUrl:
    """A store URL split once; build it with ``StoreUrl.parse``.

    ``options`` are the query's ``(name, value)`` pairs in the order written (blank values
    kept); ``key`` is the configuration key that errors name.
    """

    text: str
    parts: urllib.parse.SplitResult
    options: tuple[tuple[str, str], ...]
    key: str

    @classmethod
    def parse(cls, text: str, *, key: str = "registry.url") -> StoreUrl:
        """Split ``text``; ConfigError (at ``key``) when it does not split as a URL."""
        try:
            parts = urllib.parse.urlsplit(text)
        except ValueError as exc:  # e.g. an unclosed '[' of an IPv6 host
            raise ConfigError(
                [ConfigProblem(key, f"not a URL: {exc} (in {redact_url(text)})")]
            ) from None
        options = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        return cls(text, parts, tuple(options), key)

    @property
    def scheme(self) -> str:
        """The scheme, lower case (``""`` when there is none)."""
        return self.parts.scheme.lower()

    @property
    def path(self) -> str:
        """The path with ``%xx`` escapes decoded."""
        return urllib.parse.unquote(self.parts.path)

    @property
    def redacted(self) -> str:
        """The URL with any password replaced by ``***``; safe for logs and messages."""
        return redact_url(self.text)

    def option(self, name: str) -> str | None:
        """The last value written for option ``name``; None when it is not written."""
        found = None
        for option, value in self.options:
            if option == name:
                found = value
        return found

    def seconds(self, name: str, default: float | None) -> float | None:
        """Option ``name`` as a positive, finite number of seconds (``default`` when it is
        not written); ConfigError otherwise."""
        text = self.option(name)
        if text is None:
            return default
        try:
            seconds = float(text)
        except ValueError:
            seconds = math.nan
        if not (0.0 < seconds < math.inf):
            raise self.problem(f"{name} is a positive number of seconds, got {text!r}")
        return seconds

    def port(self, default: int) -> int:
        """The port (``default`` when none is written); ConfigError when it is not a
        number from 1 to 65535."""
        try:
            return self.parts.port or default
        except ValueError:
            raise self.problem("the port is not a number from 1 to 65535") from None

    def refuse_options(self, allowed: Collection[str], *, store: str) -> None:
        """ConfigError naming the options other than ``allowed`` (``store`` says which kind
        of store refuses them, e.g. ``"a file store URL"``)."""
        unknown = sorted({name for name, _ in self.options} - set(allowed))
        if unknown:
            takes = ", ".join(f"?{name}=" for name in sorted(allowed)) or "no options"
            raise self.problem(f"{store} takes {takes}, not {', '.join(unknown)}")

    def without(self, *names: str) -> str:
        """The URL without the options ``names`` (what a driver gets once the store has
        read its own options); other options keep their order, the rest stays as written."""
        # quote, not quote_plus: libpq reads ``+`` in a URI as a plus, not a space.
        kept = urllib.parse.urlencode(
            [(name, value) for name, value in self.options if name not in names],
            quote_via=urllib.parse.quote,
        )
        # Rebuilt as text, not with urlunsplit: that turns ``sqlite:///a.db`` and
        # ``postgresql:///db?host=/tmp`` (no host) into ``scheme:/…``, another URL.
        head, hash_mark, fragment = self.text.partition("#")
        base = head.partition("?")[0]
        return f"{base}{'?' if kept else ''}{kept}{hash_mark}{fragment}"

    def problem(self, message: str) -> ConfigError:
        """A ConfigError at ``key``: ``message``, then the URL without its password."""
        return ConfigError([ConfigProblem(self.key, f"{message} (in {self.redacted})")])
