"""The pure core: every decision tenantdb makes, with no I/O.

SQL templates (``core.sql``, the only place that imports sqlglot), routing and placement
strategies (``core.routing``), the tenant model (``core.tenancy``), replica and write-position
decisions (``core.replication``), streaming merges (``core.merge``), the per-session
decisions (``core.session``) and the phases of an online tenant move (``core.moves``).
Everything here is a function of its arguments and of immutable snapshots, and takes
``now`` where time matters, so it is tested with no database.

The layering rule, checked by ``tests/unit/test_layering.py``, from the bottom floor up:

1. ``errors``, then ``config``: plain data, no database;
2. ``core``: imports only the floors below and the standard library (no driver, no socket);
3. ``execution``: the I/O shell: drivers, pools, sessions, scatter;
4. ``tenants``: the registry, its stores and caches (they reach databases through the shell);
5. ``admin``: jobs run through sessions (DDL, precreation, placement checks);
6. the package root (``Cluster``, ``dbapi``), then ``cli`` and ``demo``.

A module imports from its own floor or the floors below, never above, and never another
package's underscore module: what a package shares, its ``__init__`` exports.
"""
