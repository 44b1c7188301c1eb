"""Integrations of tenantdb with other libraries; each lives in a subpackage that imports
its library, so ``import tenantdb`` never does (``tenantdb.integrations.sqlalchemy``: the
SQLAlchemy 2 dialects, installed with the ``tenantdb[sqlalchemy]`` extra)."""
