"""A FastAPI app with SQLAlchemy's AsyncSession on tenantdb: the ``X-Tenant`` header picks
the tenant, bound to each request's session with the ``tenantdb_tenant`` execution option;
no query names the tenant, and a tenant never reads another's notes.

Run it: ``TENANTDB_CONFIG=tenantdb.toml uvicorn sqlalchemy_fastapi:app`` from this
directory (needs ``tenantdb[sqlalchemy]``, FastAPI and uvicorn); the configuration names
a ``notes`` table with ``strategy = "tenant"`` and the tenants.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, FastAPI, Header
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

CONFIG_ENV = "TENANTDB_CONFIG"


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(sa.String(20))
    body: Mapped[str] = mapped_column(sa.String(200))


class NoteIn(BaseModel):
    body: str


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # One engine (one tenantdb cluster) for the app, built on the server's event loop.
    engine = create_async_engine(f"tenantdb+sqlite:///?config={os.environ[CONFIG_ENV]}")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)  # every tenant's datasource
    app.state.engine = engine
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


async def session_for_tenant(
    x_tenant: Annotated[str, Header()],
) -> AsyncIterator[AsyncSession]:
    """The request's session: every statement runs for the X-Tenant tenant."""
    engine: AsyncEngine = app.state.engine
    bound = engine.execution_options(tenantdb_tenant=x_tenant)
    # expire_on_commit=False: a handler reads what it wrote after commit without a reload.
    async with AsyncSession(bound, expire_on_commit=False) as session:
        yield session


Session = Annotated[AsyncSession, Depends(session_for_tenant)]


@app.post("/notes")
async def add_note(
    note: NoteIn, x_tenant: Annotated[str, Header()], session: Session
) -> dict[str, object]:
    row = Note(tenant_id=x_tenant, body=note.body)
    session.add(row)
    await session.commit()
    return {"id": row.id, "body": row.body}


@app.get("/notes")
async def list_notes(session: Session) -> list[dict[str, object]]:
    notes = await session.scalars(sa.select(Note).order_by(Note.id))
    return [{"id": n.id, "body": n.body} for n in notes]


@app.get("/notes/{note_id}")
async def get_note(note_id: int, session: Session) -> dict[str, object]:
    note = await session.get(Note, note_id)  # None for another tenant's note
    return {} if note is None else {"id": note.id, "body": note.body}
