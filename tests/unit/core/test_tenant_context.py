"""tenant_context: a context variable, so each asyncio task and each thread sees only the
tenant it set itself (pure: no database)."""

from __future__ import annotations

import asyncio
import random
import threading

import pytest

from tenantdb import current_tenant, tenant_context


def test_nesting_restores_the_outer_tenant_also_after_an_error() -> None:
    assert current_tenant() is None
    with tenant_context("a"):
        with tenant_context("b"):
            assert current_tenant() == "b"
        assert current_tenant() == "a"
        with pytest.raises(RuntimeError), tenant_context("c"):
            raise RuntimeError("boom")
        assert current_tenant() == "a"
        with tenant_context(None):
            assert current_tenant() is None
    assert current_tenant() is None


@pytest.mark.parametrize("bad", [42, b"acme", ("acme",)])
def test_anything_but_an_id_is_refused_with_what_to_pass(bad: object) -> None:
    with pytest.raises(TypeError, match="tenant id"), tenant_context(bad):  # type: ignore[arg-type]
        pass


def test_an_empty_id_is_refused() -> None:
    with pytest.raises(ValueError, match="non-empty"), tenant_context(""):
        pass


def test_two_hundred_tasks_each_see_only_their_own_tenant() -> None:
    seen: dict[str, set[str | None]] = {}

    async def request(tenant: str | None) -> None:
        key = tenant or "-"
        seen[key] = set()
        with tenant_context(tenant):
            for _ in range(20):
                await asyncio.sleep(random.random() / 1000)  # interleave with the others
                seen[key].add(current_tenant())

    async def main() -> None:
        ids: list[str | None] = [f"t{i}" for i in range(199)]
        await asyncio.gather(*(request(t) for t in [*ids, None]))

    asyncio.run(main())
    assert len(seen) == 200
    for key, values in seen.items():
        assert values == {None if key == "-" else key}


def test_a_new_thread_starts_with_no_tenant() -> None:
    found: list[str | None] = []
    with tenant_context("parent"):
        thread = threading.Thread(target=lambda: found.append(current_tenant()))
        thread.start()
        thread.join(30)
    assert found == [None]
