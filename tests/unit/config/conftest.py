"""Fixtures for configuration tests: a minimal valid document and problem finders."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from tenantdb.config import load_config
from tenantdb.errors import ConfigError, ConfigProblem

Document = dict[str, Any]
ProblemsFinder = Callable[..., list[ConfigProblem]]
ProblemAt = Callable[..., str]

_BASE: Document = {
    "datasources": {
        "ds0": {"url": "sqlite:///shard0.db"},
        "ds1": {"url": "sqlite:///shard1.db"},
    },
}


def _problems(
    document: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as info:
        load_config(document, env=env or {})
    return list(info.value.problems)


@pytest.fixture
def doc() -> Document:
    """A fresh valid document: two SQLite datasources ds0 and ds1, nothing else."""
    return copy.deepcopy(_BASE)


@pytest.fixture
def problems() -> ProblemsFinder:
    """``problems(document, env=None)``: the problems load_config reports (it must fail)."""
    return _problems


@pytest.fixture
def problem_at() -> ProblemAt:
    """``problem_at(document, path, env=None)``: the one message reported at ``path``."""

    def find(document: Mapping[str, Any], path: str, env: Mapping[str, str] | None = None) -> str:
        found = _problems(document, env)
        messages = [problem.message for problem in found if problem.path == path]
        assert len(messages) == 1, f"expected one problem at {path!r}, got {found}"
        return messages[0]

    return find
