"""A regenerated statement is generated once: the round trip's text is the one rendered.

``render_tree`` cuts slots (tables, qualifiers, placeholders as sqlglot writes them) out of
the text without changing the tree, and refuses a placeholder left in another spelling.
"""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from tenantdb import UnsupportedSQLError
from tenantdb.core.sql import parse_template
from tenantdb.core.sql._render import check_round_trip, render_tree


@pytest.mark.parametrize(
    ("dialect", "placeholder"), [("postgres", "%s"), ("mysql", "%s"), ("sqlite", "?")]
)
def test_the_round_trip_text_renders_to_the_same_pieces(dialect: str, placeholder: str) -> None:
    template = parse_template(
        "SELECT a.id FROM accounts a WHERE a.name LIKE 'x%%' AND a.id IN (%s, %s) LIMIT %s",
        dialect,
    )
    tree = template.marked
    before = tree.sql(dialect)
    text = check_round_trip(tree, dialect)
    rendered = render_tree(tree, dialect, text)
    assert rendered == render_tree(tree, dialect)
    assert tree.sql(dialect) == before  # not changed by rendering
    assert [slot for slot in rendered.slots if slot[0] == "param"] == [
        ("param", 0),
        ("param", 1),
        ("param", 2),
    ]
    joined = "".join(
        piece + (placeholder if i < len(rendered.slots) and rendered.slots[i][0] == "param" else "")
        for i, piece in enumerate(rendered.pieces)
    )
    assert "'x%%'" in joined if placeholder == "%s" else "'x%'" in joined


def test_a_placeholder_in_another_spelling_is_refused() -> None:
    tree = sqlglot.parse_one("SELECT 1 FROM t", read="postgres")
    tree.set("where", exp.Where(this=exp.EQ(this=exp.column("x"), expression=exp.var("tdbp0"))))
    with pytest.raises(UnsupportedSQLError, match="placeholder"):
        render_tree(tree, "postgres")
