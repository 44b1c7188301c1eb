"""What the tenantdb dialects support, for SQLAlchemy's suite: SQLAlchemy's defaults, with
the exclusions listed (and explained) in EXCLUSIONS.md."""

from __future__ import annotations

from sqlalchemy.testing import exclusions
from sqlalchemy.testing.requirements import SuiteRequirements


class Requirements(SuiteRequirements):
    @property
    def server_side_cursors(self) -> exclusions.compound:
        return exclusions.closed()  # tenantdb buffers or streams results itself

    @property
    def two_phase_transactions(self) -> exclusions.compound:
        return exclusions.closed()  # tenantdb.dbapi raises NotSupportedError for tpc_*

    @property
    def temp_table_reflection(self) -> exclusions.compound:
        return exclusions.closed()  # reflection answers for configured/logical tables

    @property
    def temporary_tables(self) -> exclusions.compound:
        return exclusions.closed()  # a temp table lives on one pooled connection per datasource

    @property
    def schemas(self) -> exclusions.compound:
        # The suite's "test_schema" is an ATTACHed database on SQLite (and a schema the
        # provisioning creates elsewhere); a tenantdb datasource is one database as configured.
        return exclusions.closed()

    @property
    def comment_reflection(self) -> exclusions.compound:
        # tenantdb refuses COMMENT ON statements, so the PostgreSQL dialect declares
        # supports_comments = False and creates none.
        return exclusions.closed()

    @property
    def constraint_comment_reflection(self) -> exclusions.compound:
        return exclusions.closed()  # as comment_reflection

    @property
    def sequences(self) -> exclusions.compound:
        return exclusions.closed()  # tenantdb's DDL routing refuses CREATE SEQUENCE

    @property
    def views(self) -> exclusions.compound:
        return exclusions.closed()  # tenantdb's DDL routing refuses CREATE VIEW

    # MySQL/MariaDB server behaviours (as SQLAlchemy's own requirements treat them).

    @property
    def datetime_implicit_bound(self) -> exclusions.compound:
        # A date/time bound and selected directly comes back as the string MySQL was sent.
        return exclusions.skip_if("mysql")

    @property
    def datetime_microseconds(self) -> exclusions.compound:
        return exclusions.skip_if("mysql")  # DATETIME without fsp drops microseconds

    @property
    def time_microseconds(self) -> exclusions.compound:
        return exclusions.skip_if("mysql")  # TIME without fsp drops microseconds

    @property
    def sql_expression_limit_offset(self) -> exclusions.compound:
        return exclusions.skip_if("mysql")  # LIMIT / OFFSET take no expressions

    @property
    def unbounded_varchar(self) -> exclusions.compound:
        return exclusions.skip_if("mysql")  # VARCHAR needs a length

    # Backend behaviours the suite leaves to each dialect's requirements.

    @property
    def implicitly_named_constraints(self) -> exclusions.compound:
        return exclusions.skip_if("sqlite")  # SQLite gives unnamed constraints no name

    @property
    def parens_in_union_contained_select_w_limit_offset(self) -> exclusions.compound:
        return exclusions.skip_if("sqlite")  # (SELECT ... LIMIT ..) UNION (...) is no SQLite

    @property
    def parens_in_union_contained_select_wo_limit_offset(self) -> exclusions.compound:
        return exclusions.skip_if("sqlite")  # SQLite takes no parenthesised UNION members

    @property
    def unique_constraint_reflection_no_index_overlap(self) -> exclusions.compound:
        return exclusions.skip_if("mysql")  # MySQL reports a unique constraint as an index

    @property
    def reflect_table_options(self) -> exclusions.compound:
        return exclusions.only_on(["mysql", "sqlite"])

    @property
    def reflects_pk_names(self) -> exclusions.compound:
        return exclusions.only_on(["postgresql", "sqlite"])

    @property
    def view_reflection(self) -> exclusions.compound:
        return exclusions.closed()  # tenantdb's DDL routing refuses CREATE VIEW

    @property
    def view_column_reflection(self) -> exclusions.compound:
        return exclusions.closed()  # as view_reflection

    @property
    def foreign_keys_reflect_as_index(self) -> exclusions.compound:
        return exclusions.only_on("mysql")  # InnoDB indexes every foreign key

    @property
    def unique_constraints_reflect_as_index(self) -> exclusions.compound:
        # MySQL: a unique constraint is a unique index; PostgreSQL reports the index
        # behind each unique constraint too.
        return exclusions.only_on(["mysql", "postgresql"])

    @property
    def unique_index_reflect_as_unique_constraints(self) -> exclusions.compound:
        return exclusions.only_on("mysql")  # a unique index is a unique constraint there

    @property
    def date_implicit_bound(self) -> exclusions.compound:
        return exclusions.skip_if("mysql")  # as datetime_implicit_bound

    @property
    def time_implicit_bound(self) -> exclusions.compound:
        return exclusions.skip_if("mysql")  # as datetime_implicit_bound

    @property
    def precision_generic_float_type(self) -> exclusions.compound:
        # MySQL's FLOAT keeps about 7 digits: Float(precision=...) rounds (server).
        return exclusions.skip_if("mysql")

    @property
    def supports_distinct_on(self) -> exclusions.compound:
        return exclusions.only_on("postgresql")
