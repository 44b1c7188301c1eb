"""SQL front end: placeholder scanning, parsing into cached templates, rendering, merge variants.

This package is the only place that imports sqlglot.
"""

from __future__ import annotations

from ._confine import (
    assigned_columns,
    plan_hints,
    session_variables,
    shadowing_names,
    written_qualifiers,
)
from ._ddl_shapes import DdlKind, DdlShape, ObjectName, describe_ddl
from ._declared_types import ColumnsOf, declared_types
from ._functions import foreign_functions, may_write
from ._limits import check_statement_size
from ._merge_variants import AggregateColumn, AggregateKind, MergeShape, SortKey, merge_shape
from ._physical import PhysicalStatement, physical_statement
from ._placeholders import ScannedSQL, bind_values, params_from_json, scan
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
    all_of,
    any_of,
    literal_value,
)
from ._rename import quote_name, rename_created
from ._render import PLACEHOLDER, Rendered
from ._split import split_statements
from ._template import (
    Dialect,
    InsertShape,
    Relation,
    Scope,
    Semijoin,
    SetCombine,
    Source,
    StatementKind,
    TableRef,
    Template,
    TemplateCache,
    confined_template,
    parse_template,
)
from ._tenant_column import coalesce_tenant_column, coalesced_rendering, owner_literal

__all__ = [
    "ANY",
    "AggregateColumn",
    "AggregateKind",
    "AllOf",
    "AnyOf",
    "Atom",
    "ColumnName",
    "ColumnsOf",
    "Const",
    "DdlKind",
    "DdlShape",
    "Dialect",
    "InsertShape",
    "MergeShape",
    "ObjectName",
    "PLACEHOLDER",
    "Param",
    "PhysicalStatement",
    "Predicate",
    "Relation",
    "Rendered",
    "ScannedSQL",
    "Scope",
    "Semijoin",
    "SetCombine",
    "SortKey",
    "Source",
    "StatementKind",
    "TableRef",
    "Template",
    "TemplateCache",
    "ValueRef",
    "all_of",
    "any_of",
    "assigned_columns",
    "bind_values",
    "check_statement_size",
    "coalesce_tenant_column",
    "coalesced_rendering",
    "confined_template",
    "declared_types",
    "describe_ddl",
    "foreign_functions",
    "literal_value",
    "may_write",
    "merge_shape",
    "owner_literal",
    "params_from_json",
    "parse_template",
    "physical_statement",
    "plan_hints",
    "quote_name",
    "rename_created",
    "scan",
    "session_variables",
    "shadowing_names",
    "split_statements",
    "written_qualifiers",
]
