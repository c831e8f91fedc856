"""Who commits, and the one way to claim a row.

Services add and flush; they never commit. Each unit of work has one owner that commits
once, at its end, and only these owners call `commit()`:

- **a web request**: what it wrote is committed when its view has returned a response,
  whatever the status (a refused sign-in's audit row, a spent token, are part of the
  answer, and so is the API's `ApiProblem`, a JSON answer that the API records a
  rejected key with); it is rolled back when the view raised an HTTP error (`abort()`)
  or an unexpected one: `saas.errors` dooms it;
- **a job** (`saas.jobs.run_task`): when the task returns. A long job may call
  `checkpoint()` so that the row it claimed, or its progress, is seen by others while
  it goes on working;
- **a CLI command**: every command of the app's groups (`saas.cli.Commands`), and any
  other decorated with `@owns_transaction`.

Jobs queued with `enqueue()` start after the owner's commit (see saas.jobs).
"""

from __future__ import annotations

import functools
from typing import Any, cast

from flask import Flask, g
from sqlalchemy import CursorResult, event, update

from saas.extensions import db

_JOB = "saas.job_owner"
_DOOMED = "saas.transaction_doomed"


def claim(model, *where, **values) -> bool:
    """Set `values` on the row `where` picks, if it still matches: true for the one caller
    whose UPDATE changed it.

    `where` names the row and the state being left (a token not yet used, a message still
    pending), so of two concurrent callers only one changes it: PostgreSQL makes the
    second wait for the first's commit and then re-checks `where`, which no longer holds.
    """
    result = db.session.execute(
        update(model).where(*where).values(**values).execution_options(synchronize_session=False)
    )
    # An UPDATE's result is a CursorResult (it has rowcount); execute() is typed as Result.
    return cast("CursorResult[Any]", result).rowcount == 1


def claim_many(model, *where, **values) -> list[int]:
    """`claim` for many rows in one UPDATE: the ids of the rows this caller changed
    (RETURNING; SQLite has it since 3.35). Of two concurrent callers each row goes to
    one: PostgreSQL re-checks `where` on a row another transaction changed."""
    result = db.session.execute(
        update(model)
        .where(*where)
        .values(**values)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars())


def doom() -> None:
    """Roll this request back at its end whatever it answers (an error page after a raise)."""
    g.setdefault(_DOOMED, True)


def checkpoint() -> None:
    """Commit now, inside a job: what it claimed or how far it got becomes visible to
    other workers and to the progress bar, before the job goes on."""
    if not g.get(_JOB):
        raise RuntimeError("only a job commits before its end; a request commits once")
    db.session.commit()


def _finish_request(response):
    if g.pop(_DOOMED, False):
        db.session.rollback()
    else:
        db.session.commit()
    return response


def run_as_job(task, *args):
    """Run `task` as the owner of its transaction: committed when it returns."""
    g.setdefault(_JOB, True)
    try:
        result = task(*args)
        db.session.commit()
        return result
    except BaseException:
        db.session.rollback()
        raise


def owns_transaction(command):
    """For CLI commands: commit what the command wrote when it returns, or when it ends
    itself with an exit status (it has told the user what stands: "2 imported, 1
    refused"); roll back when it raises an error."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            result = command(*args, **kwargs)
        except SystemExit:
            db.session.commit()
            raise
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        return result

    # Tests check that every command says so. (mypy has no type for an attribute set
    # on a function.)
    run.owns_transaction = True  # type: ignore[attr-defined]
    return run


def _sqlite_savepoints_nest(conn, name) -> None:
    # pysqlite opens a transaction only at the first INSERT/UPDATE/DELETE, so a SAVEPOINT
    # before any write would open it instead: its RELEASE would then commit everything,
    # and its reads would hold a shared lock that deadlocks with another writer. A write
    # path that wants a savepoint opens the transaction as a writer first (IMMEDIATE:
    # two writers queue for the lock instead of each holding half of it).
    dbapi = conn.connection.dbapi_connection
    if not dbapi.in_transaction:
        dbapi.execute("BEGIN IMMEDIATE")


def init_app(app: Flask) -> None:
    # Registered first, so it runs last of the after_request hooks: the commit comes
    # after every hook that might still write (none should), before the body is sent.
    app.after_request_funcs.setdefault(None, []).insert(0, _finish_request)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "savepoint", _sqlite_savepoints_nest)
