"""The database connection: engine, sessions, and migrations to the newest schema.

SQLite is the embedded default; any SQLAlchemy URL works (PostgreSQL is tested, and
`postgres://` or `postgresql://` use its psycopg 3 driver). The schema is only ever
created by Alembic, so a database made today upgrades tomorrow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Insert, Select, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from daemon.dbtext import escape_parameters
from daemon.schema import ConfigError

T = TypeVar("T")

ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"


def make_engine(url: str, password: Callable[[], str] | None = None, base_dir: str | Path = ".") -> Engine:
    """An engine for `url`; a relative SQLite path is taken relative to `base_dir`."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite":
        parsed = _anchor_sqlite(parsed, Path(base_dir))
    elif password is not None and parsed.username:
        parsed = parsed.set(password=_optional(password))
    try:
        engine = create_engine(parsed, pool_pre_ping=True, future=True)
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigError(f"database.url: no database driver for {parsed.drivername!r} here ({exc})") from None
    event.listen(engine, "before_cursor_execute", escape_parameters, retval=True)  # NUL & co.
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "commit", _sqlite_end)
        event.listen(engine, "rollback", _sqlite_end)
    return engine


def normalise_url(url: str) -> str:
    """`postgres://` (libpq's and many hosts' spelling) and a bare `postgresql://` (which
    SQLAlchemy reads as psycopg2) mean PostgreSQL through psycopg 3, the driver installed."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    return url


def _anchor_sqlite(parsed, base_dir: Path):
    database = parsed.database
    if database and database != ":memory:" and not Path(database).is_absolute():
        target = base_dir / database
        target.parent.mkdir(parents=True, exist_ok=True)
        return parsed.set(database=str(target))
    return parsed


def _optional(provider: Callable[[], str]) -> str | None:
    # A local PostgreSQL with trust auth needs no password: absent is fine here.
    try:
        return provider()
    except ValueError:
        return None


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # pysqlite opens transactions itself, lazily, and a SAVEPOINT taken before the first
    # write then starts one whose RELEASE commits: a rolled-back mail could keep a
    # command's change. SQLAlchemy's documented recipe: turn that off, BEGIN ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets `canceldesk check` or a report read while the daemon writes; a busy
    # timeout waits for the other writer instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# How many transactions this thread has open on SQLite (see _sqlite_begin).
_open_here = threading.local()
_COUNTED = "canceldesk_counted_begin"


def _sqlite_begin(connection) -> None:
    # IMMEDIATE takes the write lock at BEGIN, waiting (busy_timeout) while another thread
    # or process writes. A plain BEGIN reads first and upgrades at its first write: if
    # someone committed in between, SQLite refuses the upgrade at once ("database is
    # locked") and no timeout helps; the watcher, the scheduler and the outbox did that to
    # each other. A transaction opened while this thread already holds one would wait for
    # itself, so it stays a plain reader.
    depth = getattr(_open_here, "depth", 0)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if depth == 0 else "BEGIN")
    connection.info[_COUNTED] = True
    _open_here.depth = depth + 1


def _sqlite_end(connection) -> None:
    if connection.info.pop(_COUNTED, False):
        _open_here.depth -= 1


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, future=True)


def unwritten(session: Session, model: type[T]) -> list[T]:
    """The `model` objects added in this transaction and not written yet, in the order added.

    A query that must see them would first write everything pending; a look-up that looks
    here, then at the table without writing, lets the transaction write its rows together.
    `session.new` drops what a rolled-back savepoint added, so this never remembers too much."""
    return [obj for obj in session.new if isinstance(obj, model)]


_MADE = "canceldesk_made_here"


def note_made(session: Session, obj: object) -> None:
    """Remember that this transaction made `obj` (see `made_here` and `find_row`)."""
    session.info.setdefault(_MADE, []).append((obj, session.get_transaction()))


def made_here(session: Session, obj: object) -> bool:
    """Whether this transaction made `obj` (`note_made`). Nobody else can have added anything
    to a row not committed yet, so the rows this transaction made for it are all it has:
    a look-up finds them in hand (`find_row`), without a statement."""
    return _among(session, obj, _made_now(session))


def find_row(session: Session, parent: object, model: type, wanted: dict[str, Any], statement: Select) -> Any:
    """`parent`'s `model` row whose attributes are `wanted`, among the rows this transaction
    holds, else the first row `statement` reads with `wanted` as its parameters (None if none).

    For a parent made here (`made_here`), what the transaction made of `model` is all it
    has, and no statement runs. For any other, the rows not written yet (`unwritten`) come
    first, and the table is read without writing what is pending before it."""
    made = _made_now(session)
    if _among(session, parent, made):
        return _first(wanted, (obj for obj in made if isinstance(obj, model) and obj in session))
    found = _first(wanted, unwritten(session, model))
    if found is not None:
        return found
    with session.no_autoflush:
        return session.scalar(statement, wanted)


def _first(wanted: dict[str, Any], rows: Iterable[Any]) -> Any:
    return next((row for row in rows if all(getattr(row, key) == value for key, value in wanted.items())), None)


def _among(session: Session, obj: object, made: list[object]) -> bool:
    # What a rolled-back savepoint made has left the session, and is not counted.
    return obj in session and any(found is obj for found in made)


def _made_now(session: Session) -> list[object]:
    # Noted with the transaction that made them: a session that goes on after a commit
    # starts afresh.
    current = session.get_transaction()
    return [obj for obj, made_in in session.info.get(_MADE, ()) if made_in is current]


def table_of(model: type) -> Table:
    """A mapped class's table, for the plain statements written without ORM objects."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


def insert_once(session: Session, model: type, *conflict_columns: str) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING (RETURNING id, where the table has one) into `model`'s
    table, in the session's database's own dialect: one statement where a look, a savepoint
    and an insert would be three, and no ORM object. A conflict on `conflict_columns` (on any
    unique constraint, without them) inserts nothing and returns no row. Built once per
    dialect: building costs about as much as running it."""
    table = table_of(model)
    dialect = session.get_bind().dialect.name
    key = (dialect, table.name, conflict_columns)
    statement = _INSERT_ONCE.get(key)
    if statement is None:
        module = postgresql if dialect == "postgresql" else sqlite
        statement = module.insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns) or None)
        if "id" in table.c:
            statement = statement.returning(table.c.id)
        _INSERT_ONCE[key] = statement
    return statement


_INSERT_ONCE: dict[tuple[str, str, tuple[str, ...]], Insert] = {}


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back if it raises."""
    with factory() as session, session.begin():
        yield session


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic.config import Config as AlembicConfig

    from alembic import command

    config = AlembicConfig()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        # "heads": a feature may add its migration on a branch until a merge revision joins it.
        command.upgrade(config, "heads")
