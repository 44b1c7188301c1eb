"""Row flow: where the rows of a statement's sharded tables meet, and what restricts them.

Routing runs a statement on each shard it reaches, separately, and merges what comes back.
That is exact when the rows that meet in one result row (joined, compared, grouped, or
read by a subquery) always live in one shard, and when every shard left out could only
have added nothing. This module reads both from a template, for the tables of one group
(co-located tables sharing a strategy, or ``tenant`` tables in an admin scan):

- **Instances.** A derived table or CTE is read where it is referenced: each reference of
  a CTE is its own set of rows, as if its body were written there (a CTE read twice is
  two instances of its tables, which must be joined on the key like any two tables). An
  *element* is one table reference in one instance: ``(path, reference index)``, the path
  being the chain of references (scope, position among its sources) that leads into it.
- **Columns through derived tables.** ``r.account_id`` of a derived table or CTE ``r`` is
  the column its SELECT outputs under that name when that is a bare column; a key column
  reached that way is the key of the table inside. Anything else resolves to nothing.
- **Connectivity.** Elements are tied by key equalities (WHERE and ON, USING, ``IN
  (SELECT ...)``). In each result branch, every element (and every derived table whose
  rows cannot be traced to one key: a set operation, a recursive CTE) must be tied to the
  others, else rows could meet across shards: RoutingError.
- **Reductions.** Aggregates, DISTINCT, LIMIT and windows below the merged top level
  (and set operations that deduplicate or compare rows) must see rows of one key at a
  time: grouped by the key, correlated on the key, or compared on a key column.
- **Restriction.** A result branch's rows satisfy its WHERE and inner ON conditions, and,
  when no RIGHT or FULL join preserves other rows, those of every derived table or CTE it
  reads from or inner-joins (each row needs a row of it). Key conditions found there prune
  the shards; a LEFT-joined derived table, an OR with another condition, a set operation
  that is not a union, a recursive CTE restrict nothing.

Everything is computed once per template and topology (``Router._compile``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from ...errors import RoutingError, UnsupportedSQLError
from ..sql import (
    ANY,
    AllOf,
    AnyOf,
    Atom,
    ColumnName,
    Predicate,
    Relation,
    Scope,
    Source,
    Template,
    all_of,
    any_of,
)

Path = tuple[tuple[int, int], ...]
"""The references (scope index, position in its ``sources``) that lead to an instance."""
Element = tuple[Path, int]
"""One table reference in one instance."""


@dataclass(frozen=True, slots=True)
class _Opaque:
    """A derived table or CTE reference whose rows cannot be traced to one key."""

    path: Path


Node = Element | _Opaque

_MAX_INSTANCES = 2_000
_MAX_DEPTH = 64


class Flow:
    """The row flow of ``template`` for the group tables ``refs`` (see the module doc).

    ``key_of(ref)`` is the key column of table reference ``ref`` (None: not a group table).
    Raises UnsupportedSQLError when the statement has too many CTE references to analyse.
    """

    def __init__(
        self, template: Template, refs: Collection[int], key_of: Callable[[int], str | None]
    ) -> None:
        self._template = template
        self._scopes = template.scopes
        self._refs = frozenset(refs)
        self._key_of = key_of
        self._children: dict[int, list[int]] = {s.index: [] for s in self._scopes}
        for scope in self._scopes:
            if scope.parent is not None and scope.body is None:
                self._children[scope.parent].append(scope.index)
        self._in_scope = {s.index: [template.refs[r] for r in s.refs] for s in self._scopes}
        self._content: dict[int, bool] = {}
        self.instances: list[tuple[int, Path]] = []
        """Every (scope, path) the statement evaluates."""
        self.groups: list[list[Node]] = []
        """The nodes whose rows meet, per result branch (and per branch of a set
        operation read as a derived table)."""
        self._walk()

    # -- walking ------------------------------------------------------------------------

    def _walk(self) -> None:
        for root in self._template.root_scopes:
            self.groups.append(self._group(root, ()))
        # CTE bodies no reference reaches (or only recursively): checked on their own.
        seen = {scope for scope, _ in self.instances}
        for scope in self._scopes:
            if scope.body == "cte" and scope.index not in seen:
                self.groups.append(self._group(scope.index, ((-1, scope.index),)))
                seen = {s for s, _ in self.instances}

    def _group(self, root: int, path: Path) -> list[Node]:
        nodes: list[Node] = []
        stack = [(root, path)]
        while stack:
            scope, at = stack.pop()
            if len(self.instances) >= _MAX_INSTANCES or len(at) > _MAX_DEPTH:
                raise UnsupportedSQLError(
                    "the statement references its WITH queries and derived tables too many "
                    "times to analyse; simplify it or split it into several statements"
                )
            self.instances.append((scope, at))
            nodes.extend((at, r) for r in self._scopes[scope].refs if r in self._refs)
            stack.extend((child, at) for child in self._children[scope])
            for position, source in enumerate(self._scopes[scope].sources):
                inner = (*at, (scope, position))
                if source.combine == "select" and not source.recursive:
                    stack.append((source.branches[0], inner))
                    continue
                if self._holds_rows(source):
                    nodes.append(_Opaque(inner))
                if not source.recursive:
                    self.groups.extend(self._group(b, inner) for b in source.branches)
        return nodes

    def _holds_rows(self, source: Source) -> bool:
        """Whether any group table is read inside ``source``."""
        return any(self._scope_holds_rows(b, ()) for b in source.branches)

    def _scope_holds_rows(self, scope: int, visiting: tuple[int, ...]) -> bool:
        known = self._content.get(scope)
        if known is not None:
            return known
        if scope in visiting:
            return False
        visiting = (*visiting, scope)
        node = self._scopes[scope]
        found = any(r in self._refs for r in node.refs)
        found = found or any(self._scope_holds_rows(c, visiting) for c in self._children[scope])
        found = found or any(
            self._scope_holds_rows(b, visiting) for s in node.sources for b in s.branches
        )
        self._content[scope] = found
        return found

    # -- columns ------------------------------------------------------------------------

    def resolve(self, column: ColumnName, scope: int, path: Path, depth: int = 0) -> Element | None:
        """The element whose key ``column`` (as written in ``scope`` of instance ``path``)
        is, if any; None when it is another column or cannot be told."""
        current: int | None = scope
        at = path
        while current is not None and depth < _MAX_DEPTH:
            found, element = self._resolve_here(column, current, at, depth)
            if found:
                return element
            node = self._scopes[current]
            if node.body == "cte":
                return None  # a CTE's body sees no columns of the statement around it
            if node.body == "derived":
                at = at[:-1]  # LATERAL: the scope that reads the derived table
            current = node.parent
        return None

    def _resolve_here(
        self, column: ColumnName, scope: int, path: Path, depth: int
    ) -> tuple[bool, Element | None]:
        """(whether ``column`` names something of ``scope`` itself, the element)."""
        refs = self._in_scope[scope]
        sources = self._scopes[scope].sources
        if column.qualifier is not None:
            for ref in refs:
                if ref.qualifier == column.qualifier:
                    return True, self._element(ref.index, column.name, path)
            for position, source in enumerate(sources):
                if source.qualifier == column.qualifier:
                    return True, self._through(
                        source, column.name, (*path, (scope, position)), depth
                    )
            return False, None
        for ref in refs:
            if ref.index in self._refs and self._key_of(ref.index) == column.name:
                return True, (path, ref.index)
        for position, source in enumerate(sources):
            if any(name == column.name for name, _ in source.columns):
                inner = (*path, (scope, position))
                return True, self._through(source, column.name, inner, depth)
        return bool(refs or sources), None

    def _element(self, ref: int, name: str, path: Path) -> Element | None:
        if ref in self._refs and self._key_of(ref) == name:
            return (path, ref)
        return None

    def _through(self, source: Source, name: str, inner: Path, depth: int) -> Element | None:
        for output, column in source.columns:
            if output == name:
                return self.resolve(column, source.branches[0], inner, depth + 1)
        return None

    # -- connectivity ---------------------------------------------------------------------

    def check_joined(self, what: str) -> None:
        """Raise RoutingError unless the nodes of every group are tied by key equalities."""
        parent: dict[Node, Node] = {}

        def find(x: Node) -> Node:
            parent.setdefault(x, x)
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        def union(a: Element | None, b: Element | None) -> None:
            if a is not None and b is not None:
                parent[find(a)] = find(b)

        for scope_index, path in self.instances:
            scope = self._scopes[scope_index]
            for left, right in scope.equalities:
                union(self.resolve(left, scope_index, path), self.resolve(right, scope_index, path))
            for qualifier, columns in self._using(scope):
                for column in columns:
                    joined = self.resolve(ColumnName(qualifier, column), scope_index, path)
                    for other in self._qualifiers(scope):
                        if other != qualifier:
                            union(
                                joined, self.resolve(ColumnName(other, column), scope_index, path)
                            )
            for semi in scope.semijoins:
                if semi.inner is not None:
                    union(
                        self.resolve(semi.outer, scope_index, path),
                        self.resolve(semi.inner, semi.subquery_scope, path),
                    )
        for group in self.groups:
            if len({find(node) for node in group}) > 1:
                raise RoutingError(self._not_joined(group, what))

    def _using(self, scope: Scope) -> list[tuple[str, tuple[str, ...]]]:
        refs = self._template.refs
        return [(refs[r].qualifier, cols) for r, cols in scope.using] + list(scope.source_using)

    def _qualifiers(self, scope: Scope) -> list[str]:
        return [r.qualifier for r in self._in_scope[scope.index]] + [
            s.qualifier for s in scope.sources if s.qualifier
        ]

    def _not_joined(self, group: list[Node], what: str) -> str:
        refs = self._template.refs
        names = sorted({refs[node[1]].qualifier for node in group if not isinstance(node, _Opaque)})
        key = next((self._key_of(node[1]) for node in group if not isinstance(node, _Opaque)), None)
        derived = any(isinstance(node, _Opaque) for node in group)
        also = (
            " (a UNION, INTERSECT or EXCEPT read as a derived table or a recursive WITH query "
            "cannot be joined on the key)"
            if derived
            else ""
        )
        return (
            f"{', '.join(names)} are {what} that this statement does not join on "
            f"their key ({key}), so rows could meet across shards{also}; add a condition like "
            f"`a.{key} = b.{key}` for every pair (a WITH query or derived table read twice "
            "counts twice), or run the parts separately"
        )

    # -- restriction ----------------------------------------------------------------------

    def predicates(self) -> tuple[Predicate, ...]:
        """Per result branch, the key conditions every one of its rows satisfies."""
        return tuple(self._restriction(root, (), 0) for root in self._template.root_scopes)

    def _restriction(self, scope_index: int, path: Path, depth: int) -> Predicate:
        scope = self._scopes[scope_index]
        parts = [self._project(scope.predicate, scope_index, path)]
        if depth < _MAX_DEPTH:
            for position, source in enumerate(scope.sources):
                if source.required:
                    inner = (*path, (scope_index, position))
                    parts.append(self._source_restriction(source, inner, depth + 1))
        return all_of(parts)

    def _source_restriction(self, source: Source, inner: Path, depth: int) -> Predicate:
        if source.recursive:
            return ANY
        if source.combine == "select":
            return self._restriction(source.branches[0], inner, depth)
        if source.combine in ("union all", "union"):
            return any_of([self._restriction(b, inner, depth) for b in source.branches])
        return ANY

    def _project(self, predicate: Predicate, scope: int, path: Path) -> Predicate:
        """``predicate`` with every atom that is not on a group key replaced by ANY."""
        if isinstance(predicate, Atom):
            return predicate if self.resolve(predicate.column, scope, path) is not None else ANY
        if isinstance(predicate, AllOf):
            return all_of([self._project(p, scope, path) for p in predicate.parts])
        if isinstance(predicate, AnyOf):
            return any_of([self._project(p, scope, path) for p in predicate.parts])
        return ANY

    # -- reductions -----------------------------------------------------------------------

    def split_error(self, merged_root: int | None, writes: str | None) -> str | None:
        """Why running each shard's part separately would give a wrong answer, if it would.

        ``merged_root``: the scope whose aggregates, DISTINCT and LIMIT the merge computes
        across shards; ``writes``: the statement kind when it is an UPDATE or DELETE.
        """
        for root in self._template.root_scopes:
            if not self._driven(root, 0, recursing=False):
                return _UNDRIVEN
        for scope_index, path in self.instances:
            scope = self._scopes[scope_index]
            if scope.reduces and not (scope_index == merged_root and path == ()):
                own = self._own(scope_index, path)
                if own and not self._keyed(scope, path, own):
                    if scope_index == 0 and path == () and writes is not None:
                        return (
                            f"{writes.upper()} with LIMIT or ORDER BY cannot be split across "
                            "shards; add a sharding-key condition so it runs on one shard"
                        )
                    return _REDUCED
            for position, source in enumerate(scope.sources):
                inner = (*path, (scope_index, position))
                if (
                    source.combine in ("union", "other")
                    and self._holds_rows(source)
                    and not self._compared_on_key(source.branches, inner)
                ):
                    return _COMPARED
        roots = self._template.root_scopes
        if (
            self._template.combine == "other"
            and any(self._scope_holds_rows(b, ()) for b in roots)
            and not self._compared_on_key(roots, ())
        ):
            return _COMPARED
        return None

    def _driven(self, scope_index: int, depth: int, *, recursing: bool) -> bool:
        """Whether every row of ``scope`` has a row of a group table: else every shard
        would return the rows that have none (a constant UNION branch, the preserved side
        of an outer join with a reference table, a NOT EXISTS over sharded rows).
        ``recursing``: inside a recursive CTE, whose reads of itself count as driven."""
        scope = self._scopes[scope_index]
        return depth < _MAX_DEPTH and any(
            all(self._relation_driven(scope, r, depth, recursing) for r in clause)
            for clause in scope.required
        )

    def _relation_driven(
        self, scope: Scope, relation: Relation, depth: int, recursing: bool
    ) -> bool:
        kind, index = relation
        if kind == "table":
            return index in self._refs
        source = scope.sources[index]
        if source.recursive and recursing:
            return True
        return all(
            self._driven(b, depth + 1, recursing=recursing or source.recursive)
            for b in source.branches
        )

    def _own(self, scope_index: int, path: Path) -> set[Node]:
        """The nodes whose rows reach ``scope`` through its FROM: its tables and, inside
        the derived tables and CTEs it reads, theirs."""
        own: set[Node] = set()
        stack = [(scope_index, path)]
        while stack and len(own) < _MAX_INSTANCES:
            current, at = stack.pop()
            scope = self._scopes[current]
            own.update((at, r) for r in scope.refs if r in self._refs)
            for position, source in enumerate(scope.sources):
                inner = (*at, (current, position))
                if source.combine == "select" and not source.recursive:
                    stack.append((source.branches[0], inner))
                elif self._holds_rows(source):
                    own.add(_Opaque(inner))
        return own

    def _keyed(self, scope: Scope, path: Path, own: set[Node]) -> bool:
        """Whether each group of rows ``scope`` reduces is one key's: grouped by the key,
        or correlated on the key with a table of an enclosing scope."""
        for column in scope.group_by:
            if self.resolve(column, scope.index, path) in own:
                return True
        for left, right in scope.equalities:
            for inner, outer in ((left, right), (right, left)):
                if self.resolve(inner, scope.index, path) not in own:
                    continue
                found = self.resolve(outer, scope.index, path)
                if found is not None and found not in own:
                    return True
        return False

    def _compared_on_key(self, branches: tuple[int, ...], path: Path) -> bool:
        """Whether the rows of set-operation ``branches`` are compared on a key column:
        one output position that is a group key in every branch (equal rows then have
        equal keys, so they live in one shard)."""
        outputs = [self._scopes[b].outputs for b in branches]
        if any(o is None for o in outputs):
            return False
        width = min(len(o) for o in outputs if o is not None)
        for position in range(width):
            if all(
                column is not None and self.resolve(column, b, path) is not None
                for b, o in zip(branches, outputs, strict=True)
                if o is not None
                for column in (o[position],)
            ):
                return True
        return False


_REDUCED = (
    "an aggregate, DISTINCT, LIMIT or window function inside a subquery, CTE or "
    "UNION branch over a sharded table would be computed per shard and give a wrong "
    "answer; group it by the sharding key, correlate it on the key, or add a "
    "sharding-key condition so one shard answers"
)
_UNDRIVEN = (
    "this statement returns rows that hold no row of a sharded table (a UNION branch "
    "without one, rows of another table kept by an outer join, or a NOT EXISTS over "
    "sharded rows), so every shard would return them; make a sharded table the one every "
    "row is read from, or add a sharding-key condition so one shard answers"
)
_COMPARED = (
    "a UNION, INTERSECT or EXCEPT that compares rows of a sharded table would compare "
    "each shard's rows separately and give a wrong answer; select the sharding key in "
    "every branch (in the same position), use UNION ALL, or add a sharding-key condition "
    "so one shard answers"
)

__all__ = ["Element", "Flow", "Path"]
