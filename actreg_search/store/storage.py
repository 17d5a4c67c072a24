"""Where studies live: checking and opening Optuna RDB storages.

Which URL to open is the caller's (:meth:`actreg_search.settings.Settings.storage_url`
resolves it: ``--storage``, then ``ACTREG_STORAGE``, then the study file's, then
the default), and so is the heartbeat grace period: nothing here reads the
environment. Passwords in URLs are never printed: use :func:`redact` for any message.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import optuna
import sqlalchemy.event
import sqlalchemy.exc
from sqlalchemy.engine import URL, make_url

from actreg_search.errors import StorageError
from actreg_search.internals.optuna_private import has_study_tables, sessions_joined
from actreg_search.settings import GRACE_PERIOD_S

SQLITE_BUSY_TIMEOUT_S = 60
SCHEMA_RACE_TRIES = 5
"""Attempts at opening a storage whose tables another process is creating at the same moment."""
_SCHEMA_RACE = ("already exists", "unique constraint failed", "duplicate key")


def redact(url: str) -> str:
    """The URL with any password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (sqlalchemy.exc.ArgumentError, ValueError):
        return "<malformed storage URL>"


def parse_url(url: str) -> URL:
    """Parse and check a storage URL.

    Raises:
        StorageError: Malformed, or not a database this tool supports.
    """
    try:
        parsed = make_url(url)
    except (sqlalchemy.exc.ArgumentError, ValueError):
        raise StorageError(
            "storage URL is malformed (not a database URL); expected e.g. sqlite:///actreg.db "
            "or postgresql://user@host/db"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql", "mysql"):
        raise StorageError(f"storage URL {redact(url)}: unsupported database {backend!r}; allowed: sqlite, postgresql, mysql")
    if backend == "sqlite" and not parsed.database:
        raise StorageError(f"storage URL {redact(url)}: needs a file path, e.g. sqlite:///actreg.db")
    return parsed


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL, ``None`` for other databases."""
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, ":memory:"):
        return None
    return Path(parsed.database)


def open_storage(url: str, create: bool, *, grace_period_s: int = GRACE_PERIOD_S) -> optuna.storages.RDBStorage:
    """Open an Optuna RDB storage.

    Args:
        url: SQLAlchemy URL.
        create: Whether a missing SQLite file may be created; reading commands
            pass ``False`` so that a typo never leaves an empty database behind.
        grace_period_s: Seconds without a heartbeat after which a running
            trial counts as dead (:attr:`actreg_search.settings.Settings.grace_period_s`);
            its trials beat every quarter of it, at most every 10 s.

    Returns:
        The storage (SQLite gets a long busy timeout, for parallel workers).

    Raises:
        StorageError: The URL is malformed, the file is missing (when not
            creating) or not a database, or the server is unreachable.
    """
    parsed = parse_url(url)
    engine_kwargs = _engine_kwargs(url, parsed, create)
    with _translated_errors(url, parsed):
        storage = _rdb_storage(url, engine_kwargs, grace_period_s)
        if sqlite_path(url) is not None:
            _immediate_transactions(storage.engine)
        return storage


def _immediate_transactions(engine: sqlalchemy.engine.Engine) -> None:
    """Have every SQLite transaction take the write lock before it reads (``BEGIN IMMEDIATE``).

    Python's sqlite3 driver starts a transaction only at the first write, so
    the read before it runs outside: two workers asking for a queued trial at
    once both read it as waiting and both claim it (Optuna checks the state,
    then updates it), and the same trial then trains in both (measured: two
    processes popping 40 queued trials handed out the same trial twice in three
    runs of three; ``tests/store/test_storage.py``). With ``BEGIN IMMEDIATE`` the
    second worker waits for the first to commit and reads the trial as running.

    The journal mode stays SQLite's default (not WAL, which would make each of a
    trial's ~30 commits cheaper, 0.03 s a trial instead of 0.11 s on the 2-core
    VM, but needs a local disk, leaves ``-wal`` and ``-shm`` files beside the
    database while it is open, and a copy of the file alone can miss the latest
    trials).
    """

    @sqlalchemy.event.listens_for(engine, "connect")
    def _driver_begins_nothing(connection: object, _: object) -> None:
        connection.isolation_level = None  # type: ignore[attr-defined]  # the driver's own BEGIN off: ours below

    @sqlalchemy.event.listens_for(engine, "begin")
    def _begin(connection: sqlalchemy.engine.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections opened before (the schema check) come back with the hooks


@contextlib.contextmanager
def one_transaction(storage: optuna.storages.BaseStorage | None) -> Iterator[None]:
    """Commit what this thread writes to ``storage`` inside the block as one transaction: all of it, or none.

    Optuna commits each trial attribute on its own, so a completed trial's ~30
    attributes were ~30 commits: 62 ms in SQLite's default journal on the
    2-core VM, 31 ms as one (``benchmarks/study.py`` reads the difference off a
    whole run). Optuna has no public batch write, so for the block this
    thread's writes join one outer transaction, in which each of Optuna's
    commits only releases a savepoint (through the storage's private session
    registry: :func:`~actreg_search.internals.optuna_private.sessions_joined`);
    an error inside rolls every write of the block back. Other threads (the
    heartbeat) keep their own sessions and wait for the commit. Any other
    storage, or ``None``, writes as before, one commit per write.
    """
    if not isinstance(storage, optuna.storages.RDBStorage):
        yield
        return
    with storage.engine.connect() as connection, connection.begin(), sessions_joined(storage, connection):
        yield


def open_reader(url: str) -> sqlalchemy.engine.Engine:
    """Open a storage for reading: a SQLAlchemy engine on Optuna's tables, for :mod:`actreg_search.store.reader`.

    The reading commands never write, so they skip what opening Optuna's
    ``RDBStorage`` does first: importing alembic, checking the schema version
    and creating missing tables, which was 0.4 s of a 1 s ``list``.

    Raises:
        StorageError: The URL is malformed, the file is missing or not a
            database, the server is unreachable, or the database holds no
            Optuna studies' tables.
    """
    parsed = parse_url(url)
    engine_kwargs = _engine_kwargs(url, parsed, create=False)
    with _translated_errors(url, parsed):
        engine = sqlalchemy.create_engine(url, **engine_kwargs)
        with engine.connect() as conn:
            optuna_tables = has_study_tables(conn)
    if not optuna_tables:
        engine.dispose()
        raise StorageError(f"storage {redact(url)}: holds no Optuna studies (no 'studies' table); nothing to read")
    return engine


def _engine_kwargs(url: str, parsed: URL, create: bool) -> dict:
    """SQLAlchemy engine arguments, after checking a SQLite file's place (it must exist unless ``create``)."""
    path = sqlite_path(url)
    if path is not None:
        if not create and not path.exists():
            raise StorageError(f"no database at {path} (storage {redact(url)})")
        if path.exists() and not path.is_file():
            raise StorageError(f"storage {redact(url)}: {path} is not a file")
        if create and not path.parent.exists():
            raise StorageError(f"storage {redact(url)}: directory {path.parent} does not exist")
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    if parsed.get_backend_name() == "postgresql":
        return {"pool_pre_ping": True}
    return {}


@contextlib.contextmanager
def _translated_errors(url: str, parsed: URL) -> Iterator[None]:
    """Database errors as one-line :class:`StorageError`s, passwords redacted."""
    try:
        yield
    except sqlalchemy.exc.DatabaseError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else exc.__class__.__name__
        raise StorageError(f"storage {redact(url)}: {_strip_password(reason, parsed)}") from None
    except ImportError:
        raise StorageError(f"storage {redact(url)}: {driver_hint(parsed)}") from None
    except (sqlalchemy.exc.SQLAlchemyError, RuntimeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise StorageError(f"storage {redact(url)}: {_strip_password(reason, parsed)}") from None


def _rdb_storage(url: str, engine_kwargs: dict, grace: int) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage, retried while another process is creating the same tables.

    Optuna creates the schema when it opens a storage, by checking for each
    table and then creating it. Several ``run`` commands started together on a
    fresh database (one per machine, or a reader polling a study that is being
    created) race between the check and the create, or on inserting Optuna's
    schema version; the loser's error says a table "already exists" or the
    version row breaks a unique constraint, and opening again then finds the
    finished schema.
    """
    attempt = 1
    while True:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=max(1, min(10, grace // 4)),
                    grace_period=grace,
                    heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1),
                )
        except sqlalchemy.exc.DatabaseError as exc:
            if attempt == SCHEMA_RACE_TRIES or not any(m in str(exc).lower() for m in _SCHEMA_RACE):
                raise
            time.sleep(0.2 * attempt)
            attempt += 1


#: Per SQLAlchemy driver, how to install it (and, for MySQL's default driver, the one that needs no compiler).
_DRIVER_INSTALL = {
    "psycopg": "pip install 'actreg-search[postgres]'",
    "psycopg2": "pip install psycopg2-binary, or pip install 'actreg-search[postgres]' and use postgresql://...",
    "pg8000": "pip install pg8000",
    "asyncpg": "use postgresql://... (this tool needs a synchronous driver) with pip install 'actreg-search[postgres]'",
    "mysqldb": "pip install PyMySQL and use mysql+pymysql://... (or pip install mysqlclient for mysql://...)",
    "pymysql": "pip install PyMySQL",
    "mysqlconnector": "pip install mysql-connector-python",
}


def driver_hint(url: URL) -> str:
    """What to install when the URL's database driver is missing, per backend and driver.

    Args:
        url: The parsed storage URL.

    Returns:
        E.g. ``no driver installed for mysql (mysqldb): pip install PyMySQL and use mysql+pymysql://...``.
    """
    backend, driver = url.get_backend_name(), url.get_driver_name()
    install = _DRIVER_INSTALL.get(driver, f"install the Python package of SQLAlchemy's {driver!r} driver")
    return f"no driver installed for {backend} ({driver}): {install}"


def _strip_password(text: str, url: URL) -> str:
    return text.replace(url.password, "***") if url.password else text
