"""The generator of the sync front: what it rewrites, and that the checked-in sync front is
exactly what it generates (a hand edit under ``src/tenantdb/_sync`` fails here)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "async_to_sync.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("async_to_sync", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("async_to_sync", module)
    spec.loader.exec_module(module)
    return module


def test_async_syntax_and_names_become_their_sync_forms() -> None:
    source = (
        "class AsyncSession:\n"
        "    async def __aenter__(self) -> AsyncSession:\n"
        "        async with self._lock:\n"
        "            rows = (await self._run()).rows\n"
        "        async for row in rows:\n"
        "            await arun_each(None, [self.a, self.b])\n"
        "        return self\n"
    )
    assert _script().convert(source) == (
        "class Session:\n"
        "    def __enter__(self) -> Session:\n"
        "        with self._lock:\n"
        "            rows = (self._run()).rows\n"
        "        for row in rows:\n"
        "            run_each(None, [self.a, self.b])\n"
        "        return self\n"
    )


def test_strings_and_comments_are_renamed_too_but_other_words_are_not() -> None:
    source = (
        'def f() -> None:\n    """Use ``await s.aclose()`` on an AsyncSession."""\n'
        "    # awaiting is a word; await x is syntax\n    asynchronous = 1\n"
    )
    assert _script().convert(source) == (
        'def f() -> None:\n    """Use ``s.close()`` on an Session."""\n'
        "    # awaiting is a word; x is syntax\n    asynchronous = 1\n"
    )


def test_a_sync_pragma_replaces_its_line_with_the_same_indentation() -> None:
    source = "if x:\n    loop = asyncio.get_running_loop()  # sync: loop = None\n"
    assert _script().convert(source) == "if x:\n    loop = None\n"


def test_the_checked_in_sync_front_is_what_the_script_generates() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr


def test_a_hand_edit_is_reported_naming_the_script(tmp_path: Path) -> None:
    script = _script()
    assert script.main(["--target", str(tmp_path)]) == 0  # a fresh copy of the sync front
    edited = tmp_path / "__init__.py"
    edited.write_text(edited.read_text(encoding="utf-8") + "# edited by hand\n", "utf-8")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--target", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 1
    assert "run `python scripts/async_to_sync.py`" in done.stderr
    assert str(edited) in done.stderr


def test_awaitable_types_unwrap_to_their_value_type() -> None:
    source = "f: Callable[[AsyncStream, list[int]], Awaitable[dict[str, Row]]]\n"
    assert _script().convert(source) == "f: Callable[[Stream, list[int]], dict[str, Row]]\n"
