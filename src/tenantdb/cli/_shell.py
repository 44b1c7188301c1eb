"""``tenantdb shell``: an interactive SQL prompt over a cluster (or a script from a pipe).

Statements end with ``;`` and may span lines; results print as a table with the targets
that served them. Errors print on one line and the shell goes on. Lines starting with a
backslash (when no statement is pending) are commands: see ``HELP``.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .._cluster import Cluster, connect
from .._sync import Result, Session
from ..core.routing import Target
from ..errors import Error
from ._explain import format_plan
from ._opened import ConfigOption
from ._statements import StatementBuffer

HELP = """\
Statements end with ; and may span several lines. Commands:
  \\q               quit (end of input also quits)
  \\?               this help
  \\explain SQL     show the route plan of SQL without running it
  \\tenant ID       switch to a session for tenant ID
  \\admin           switch to an admin session (every tenant, DDL)
  \\notenant        switch to a session without a tenant (non-tenant tables only)
  \\timing          show how long each statement took (toggle)
Parameters are not supported here: write values as SQL literals."""

MAX_LISTED_TARGETS = 8
PIPE_WIDTH = 10_000
_DDL_WORDS = frozenset({"CREATE", "ALTER", "DROP"})


class Shell:
    """The state of one shell: the cluster, the current session and the output consoles.

    ``feed(line)`` handles one input line; ``failures`` counts statements and commands
    that failed.
    """

    def __init__(
        self,
        cluster: Cluster,
        *,
        tenant: str | None,
        admin: bool,
        out: Console,
        err: Console,
        where: Callable[[], str] = lambda: "",
    ) -> None:
        self._cluster = cluster
        self._out = out
        self._err = err
        self._where = where
        self._buffer = StatementBuffer()
        self._session: Session = cluster.session(tenant, admin=admin)
        self.timing = False
        self.failures = 0
        self.finished = False

    @property
    def prompt(self) -> str:
        session = self._session
        who = "admin" if session.admin else session.tenant.id if session.tenant else ""
        head = f"tenantdb[{who}]" if who else "tenantdb"
        return f"{head}> " if not self._buffer.pending else " " * (len(head) - 3) + "...> "

    def feed(self, line: str) -> None:
        """Handle one line of input (without its newline)."""
        if not self._buffer.pending and line.lstrip().startswith("\\"):
            self._command(line.strip())
            return
        for statement in self._buffer.feed(line):
            self._run(statement)

    def finish(self) -> None:
        """End of input: run an unfinished last statement, then close the session."""
        rest = self._buffer.take_rest()
        if rest is not None and not self.finished:
            self._run(rest)
        self.close()

    def interrupt(self) -> None:
        """Ctrl-C: drop the statement being typed."""
        self._buffer.clear()

    def close(self) -> None:
        self.finished = True
        self._session.close()

    # -- statements ----------------------------------------------------------------------

    def _run(self, sql: str) -> None:
        began = time.perf_counter()
        try:
            result = self._session.execute(sql)
            rows = result.fetchall() if result.description is not None else None
        except Exception as exc:  # every failure is one line; the shell goes on
            self._fail(exc)
            return
        elapsed = time.perf_counter() - began
        if rows is not None:
            self._print_rows(result, rows)
            summary = f"{len(rows)} row{'' if len(rows) == 1 else 's'}"
        else:
            count = result.rowcount
            ddl = sql.split(None, 1)[0].upper() in _DDL_WORDS
            summary = (
                "OK" if ddl or count < 0 else f"{count} row{'' if count == 1 else 's'} affected"
            )
        self._out.print(Text(f"{summary} · {_served_by(result.targets)}", style="dim"))
        if self.timing:
            self._out.print(Text(f"Time: {elapsed * 1000:.3f} ms", style="dim"))

    def _print_rows(self, result: Result, rows: list[tuple[Any, ...]]) -> None:
        assert result.description is not None
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for column in result.description:
            table.add_column(Text(str(column[0])))
        for row in rows:
            table.add_row(*(_cell(value) for value in row))
        self._out.print(table)

    # -- commands ------------------------------------------------------------------------

    def _command(self, line: str) -> None:
        name, _, argument = line.partition(" ")
        argument = argument.strip()
        try:
            if name in ("\\q", "\\quit"):
                self.finished = True
            elif name in ("\\?", "\\help", "\\h"):
                self._out.print(Text(HELP))
            elif name == "\\explain":
                self._explain(argument)
            elif name == "\\tenant":
                if not argument:
                    raise Error("\\tenant needs a tenant id, e.g. \\tenant acme")
                self._switch(argument, admin=False)
            elif name == "\\admin":
                self._switch(None, admin=True)
            elif name == "\\notenant":
                self._switch(None, admin=False)
            elif name == "\\timing":
                self.timing = not self.timing
                self._out.print(Text(f"Timing is {'on' if self.timing else 'off'}.", style="dim"))
            else:
                raise Error(f"unknown command {name}; \\? lists the commands")
        except Exception as exc:
            self._fail(exc)

    def _explain(self, sql: str) -> None:
        sql = sql.strip().rstrip(";").strip()
        if not sql:
            raise Error("\\explain needs a statement, e.g. \\explain SELECT * FROM orders")
        session = self._session
        plan = self._cluster.explain(sql, tenant=session.tenant, admin=session.admin)
        self._out.print(Text(format_plan(plan)))

    def _switch(self, tenant: str | None, *, admin: bool) -> None:
        replacement = self._cluster.session(tenant, admin=admin)  # fails before closing
        self._session.close()
        self._session = replacement
        who = "an admin" if admin else f"tenant {tenant}'s" if tenant else "a tenant-less"
        self._out.print(Text(f"Now in {who} session.", style="dim"))

    def _fail(self, exc: BaseException) -> None:
        self.failures += 1
        message = " ".join(str(exc).split()) or "(no message)"
        self._err.print(Text(f"{self._where()}ERROR {type(exc).__name__}: {message}", style="red"))


def shell_command(
    config: ConfigOption,
    tenant: Annotated[str | None, typer.Option(help="Open a session for this tenant.")] = None,
    admin: Annotated[
        bool, typer.Option("--admin", help="Open an admin session (every tenant, DDL).")
    ] = False,
) -> None:
    """Open an interactive SQL prompt on the cluster of CONFIG.

    Statements end with ';'. Type \\? for the commands. With input from a pipe or file, runs
    it as a script without prompts and exits with status 1 if any statement failed.
    """
    if tenant is not None and admin:
        typer.echo("error: pass --tenant or --admin, not both", err=True)
        raise typer.Exit(2)
    interactive = sys.stdin.isatty()
    # Output for a pipe is never wrapped or cut to a terminal's width.
    width = None if interactive else PIPE_WIDTH
    out = Console(highlight=False, width=width)
    err = Console(stderr=True, highlight=False, width=width)
    line_number = 0

    def where() -> str:
        return "" if interactive else f"line {line_number}: "

    try:
        cluster = connect(config)
    except Error as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    with cluster:
        try:
            shell = Shell(cluster, tenant=tenant, admin=admin, out=out, err=err, where=where)
        except Error as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        if interactive:
            _interactive(shell, out)
            return
        for line_number, line in enumerate(_lines(sys.stdin), 1):  # noqa: B007
            shell.feed(line)
            if shell.finished:
                break
        shell.finish()
    if shell.failures:
        raise typer.Exit(1)


def _lines(stream: Iterable[str]) -> Iterable[str]:
    for line in stream:
        yield line.rstrip("\r\n")


def _interactive(shell: Shell, out: Console) -> None:
    with contextlib.suppress(ImportError):  # not on every platform
        import readline  # noqa: F401  (line editing and history for input())
    out.print(Text("tenantdb shell: statements end with ;  \\? for help, \\q to quit", style="dim"))
    while not shell.finished:
        try:
            line = input(shell.prompt)
        except EOFError:
            out.print()
            break
        except KeyboardInterrupt:
            out.print()
            shell.interrupt()
            continue
        shell.feed(line)
    shell.finish()


def _served_by(targets: list[Target]) -> str:
    names: list[str] = []
    for target in targets:
        tables = ",".join(dict.fromkeys(target.tables.values()))
        name = f"{target.datasource}:{tables}" if tables else target.datasource
        if name not in names:
            names.append(name)
    if not names:
        return "no target"
    listed = ", ".join(names[:MAX_LISTED_TARGETS])
    more = len(names) - MAX_LISTED_TARGETS
    return listed + (f" and {more} more" if more > 0 else "")


def _cell(value: object) -> Text:
    if value is None:
        return Text("NULL", style="dim")
    if isinstance(value, bytes | bytearray | memoryview):
        return Text("\\x" + bytes(value).hex())
    return Text(str(value))
