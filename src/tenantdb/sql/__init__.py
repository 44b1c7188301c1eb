"""SQL front end: placeholder scanning, parsing into cached templates, rendering, merge variants.

This package is the only place that imports sqlglot.
"""

from __future__ import annotations

from ._ddl import DdlKind, DdlShape, ObjectName, describe_ddl
from ._merge import AggregateColumn, AggregateKind, MergeShape, SortKey, merge_shape
from ._placeholders import ScannedSQL, scan
from ._predicates import (
    ANY,
    AllOf,
    AnyOf,
    Atom,
    ColumnName,
    Const,
    Param,
    Predicate,
    ValueRef,
)
from ._rename import quote_name, rename_created
from ._render import PLACEHOLDER, Rendered
from ._split import split_statements
from ._template import (
    Dialect,
    InsertShape,
    Scope,
    Semijoin,
    StatementKind,
    TableRef,
    Template,
    TemplateCache,
    parse_template,
)

__all__ = [
    "ANY",
    "AggregateColumn",
    "AggregateKind",
    "AllOf",
    "AnyOf",
    "Atom",
    "ColumnName",
    "Const",
    "DdlKind",
    "DdlShape",
    "Dialect",
    "InsertShape",
    "MergeShape",
    "ObjectName",
    "PLACEHOLDER",
    "Param",
    "Predicate",
    "Rendered",
    "ScannedSQL",
    "Scope",
    "Semijoin",
    "SortKey",
    "StatementKind",
    "TableRef",
    "Template",
    "TemplateCache",
    "ValueRef",
    "describe_ddl",
    "merge_shape",
    "parse_template",
    "quote_name",
    "rename_created",
    "scan",
    "split_statements",
]
