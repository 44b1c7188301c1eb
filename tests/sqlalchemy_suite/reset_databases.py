"""Drop and create the empty databases configs/*.toml name (make sqla-suite runs it)."""

from __future__ import annotations

import sys

NAMES = ("tenantdb_sqla_suite", "tenantdb_sqla_suite_1")


def main(backend: str) -> None:
    if backend.startswith("postgresql"):
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres") as pg:
            pg.autocommit = True
            for name in NAMES:
                pg.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                pg.execute(f"CREATE DATABASE {name}")
    elif backend.startswith("mysql"):
        import pymysql

        connection = pymysql.connect(host="127.0.0.1", user="root")
        with connection.cursor() as cursor:
            for name in NAMES:
                cursor.execute(f"DROP DATABASE IF EXISTS {name}")
                cursor.execute(f"CREATE DATABASE {name}")
        connection.close()


if __name__ == "__main__":
    main(sys.argv[1])
