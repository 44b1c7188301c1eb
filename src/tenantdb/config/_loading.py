"""``load_config``: from a path, a mapping or a Config to one validated, resolved Config."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import InterfaceError
from ._etcd import is_etcd_url, read_etcd_document
from ._formats import read_document
from ._interpolation import interpolate
from ._models import Config
from ._validation import validate_document

ConfigSource = str | os.PathLike[str] | Mapping[str, Any] | Config
"""What ``load_config`` accepts."""


def load_config(source: ConfigSource, *, env: Mapping[str, str] | None = None) -> Config:
    """Return the validated, resolved configuration described by ``source``.

    ``source`` is a ``Config`` (returned as is), a mapping with the document's shape,
    the path of a ``.toml``, ``.yaml``/``.yml`` (needs ``tenantdb[yaml]``) or ``.json``
    file, or ``etcd://host:port/key``: a TOML or JSON document kept as that etcd key's
    value. ``${VAR}`` and ``${VAR:-default}`` in any string value are replaced from ``env``
    (default ``os.environ``) before validation; ``$${`` is a literal ``${``.

    Raises ``ConfigError`` listing every problem of the document (each with its dotted key
    path), or naming the file that cannot be read or parsed. Messages never contain values
    taken from the environment or URL passwords. Raises ``InterfaceError`` when ``source``
    is none of the accepted types. Reads the file or the etcd key, if any; no other I/O.
    """
    if isinstance(source, Config):
        return source
    if isinstance(source, Mapping):
        document: Mapping[str, Any] = source
    elif is_etcd_url(source):
        assert isinstance(source, str)
        document = read_etcd_document(source)
    elif isinstance(source, str | os.PathLike):
        document = read_document(Path(source))
    else:
        raise InterfaceError(
            f"load_config() takes a file path, a mapping or a Config, not {type(source).__name__}"
        )
    interpolated = interpolate(document, os.environ if env is None else env)
    return validate_document(interpolated.document, interpolated=interpolated)
