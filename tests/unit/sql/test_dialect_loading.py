"""A statement parsed while another thread is still loading its sqlglot dialect (issue 19).

sqlglot loads a dialect's module on first use and registers the dialect class by name as
its class statement starts, before the class has its tokenizer, parser and generator. The
two threads of a process that run their first statements together once met that
half-built class: the generic generator wrote ``:tdbp0`` where PostgreSQL takes
``%(tdbp0)s``, and the INSERT was refused as if its placeholder could not be placed.

The race is made certain, not hoped for: in a fresh interpreter (this one has every
dialect loaded) a loader thread imports the dialect and is parked inside the class's
set-up, just after the registration; a second thread then parses a statement. It must
wait for the import to finish and then read the statement as a process that loaded the
dialect first does. Splitting a script goes through the same dialect objects.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import importlib, json, sys, threading, time

    import sqlglot.dialects.dialect as dialect_module
    from sqlglot.dialects.dialect import Dialect
    from tenantdb.core.sql import parse_template, split_statements

    DIALECT, SQL, WHAT = sys.argv[1], sys.argv[2], sys.argv[3]
    MODULE = "sqlglot.dialects." + DIALECT
    HANG_GUARD_S = 30.0
    real_new_trie = dialect_module.new_trie
    parked = threading.Event()
    release = threading.Event()


    def new_trie(*args, **kwargs):
        # The class's set-up calls new_trie first thing after registering it by name.
        if DIALECT in Dialect._classes and not parked.is_set():
            parked.set()
            release.wait(HANG_GUARD_S)
        return real_new_trie(*args, **kwargs)


    dialect_module.new_trie = new_trie
    loader = threading.Thread(target=importlib.import_module, args=(MODULE,))
    loader.start()
    assert parked.wait(HANG_GUARD_S), "the dialect class was never set up"

    seen = {}


    def read():
        if WHAT == "split":
            return repr(split_statements(SQL, DIALECT))
        template = parse_template(SQL, DIALECT)
        return repr((template.rendered, template.insert))


    def parse():
        try:
            seen["read"] = read()
        except Exception as exc:
            seen["error"] = f"{type(exc).__name__}: {exc}"


    def waits_for_the_import(thread):
        frame = sys._current_frames().get(thread.ident)
        while frame is not None:
            lock = frame.f_locals.get("self") if frame.f_code.co_name == "acquire" else None
            if getattr(lock, "name", None) == MODULE:
                return True
            frame = frame.f_back
        return False


    user = threading.Thread(target=parse)
    user.start()
    give_up = time.monotonic() + HANG_GUARD_S
    # Parked until the parse has finished (on the half-built class) or waits for the import.
    while user.is_alive() and not waits_for_the_import(user) and time.monotonic() < give_up:
        time.sleep(0.001)
    release.set()
    user.join(HANG_GUARD_S)
    loader.join(HANG_GUARD_S)
    dialect_module.new_trie = real_new_trie
    print(json.dumps({**seen, "expected": read()}))
    """
)

CASES = [
    # The generic generator writes :tdbp0; PostgreSQL's writes %(tdbp0)s.
    ("postgres", "INSERT INTO orders (id, amount) VALUES (%s, %s)", "template"),
    # The generic tokenizer does not read backquoted names.
    ("mysql", "INSERT INTO `order lines` (id) VALUES (%s)", "template"),
    # Scripts are split with the dialect's tokenizer: this semicolon is inside a name.
    ("mysql", "SELECT 1 AS `a;b`; SELECT 2", "split"),
]


@pytest.mark.parametrize(("dialect", "sql", "what"), CASES)
def test_a_statement_read_while_its_dialect_loads_reads_as_after(
    dialect: str, sql: str, what: str
) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", SCRIPT, dialect, sql, what],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    seen = json.loads(finished.stdout.splitlines()[-1])
    assert seen.get("error") is None
    assert seen["read"] == seen["expected"]
