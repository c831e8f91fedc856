"""What a search box matches: text compared without accents or case, and tax ids
compared without their dots, spaces and dashes, the same on SQLite and PostgreSQL.

What the console searches is stored folded: a company's `search_name` is `fold(name)` and
its `search_tax_id` is `compact_tax_id(tax_id)`, kept by the model's validators at every
write, and an invoice's `search_number` is `lower(number)`, computed by the database.

Why no trigram index: PostgreSQL's row-level security (migration 0010) lets the planner
use only leakproof operators as index conditions ahead of the policy, and LIKE (as
pg_trgm's operators) is not leakproof, while the comparisons of text are. So a fragment
of a customer's name or tax id is a LIKE over the tenant's companies (a few thousand
rows, scanned in about 2 ms), and a number is matched by its start, `starts_with`: a
range of the btree index ix_invoice_number_prefix (`text_pattern_ops`), leakproof.

`folded(column)` is the same folding as a SQL expression, for columns not stored folded.
PostgreSQL's `unaccent` is an extension an ordinary role may not be allowed to install,
so there it is the built-in `translate(lower(x), ACCENTED, plain)`; SQLite has neither,
so there it is `fold()` itself, registered on each connection. The letters folded are
those of Spanish and Italian (and the other Latin-1 vowels), so both databases answer
like `fold()`.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata

from sqlalchemy import and_, event, func
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String

# The accented letters the database folds, upper and lower case.
ACCENTED = "ÁÀÂÄÃÅÉÈÊËÍÌÎÏÓÒÔÖÕÚÙÛÜÑÇÝáàâäãåéèêëíìîïóòôöõúùûüñçýÿ"
MAX_SEARCH = 100  # characters a search box takes (its maxlength)
_TAX_ID_SEPARATORS = re.compile(r"[\s.\-/]")


def fold(text: str) -> str:
    """`text` in lower case without accents: "Ferretería" -> "ferreteria"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


_PLAIN = "".join(fold(c) for c in ACCENTED)


class folded(FunctionElement):
    """SQL: the column in lower case without the accents of ACCENTED."""

    type = String()
    inherit_cache = True


@compiles(folded)
def _folded_lower(element, compiler, **kw):
    # Another database would fold case only; the app runs on SQLite and PostgreSQL.
    return compiler.process(func.lower(*element.clauses.clauses), **kw)


@compiles(folded, "sqlite")
def _folded_sqlite(element, compiler, **kw):
    # SQLite's lower() folds ASCII only, and 52 nested replace() overflow its parser:
    # the Python function below, registered on every SQLite connection, does it.
    return compiler.process(func.saas_fold(*element.clauses.clauses), **kw)


@event.listens_for(Engine, "connect")
def _register_fold(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("saas_fold", 1, _fold_or_null, deterministic=True)


def _fold_or_null(value):
    return fold(value) if isinstance(value, str) else value


@compiles(folded, "postgresql")
def _folded_translate(element, compiler, **kw):
    return compiler.process(
        func.translate(func.lower(*element.clauses.clauses), ACCENTED, _PLAIN), **kw
    )


def compact_tax_id(text: str) -> str:
    """A typed tax id without separators, lower case: "800.765.432-3" -> "8007654323"."""
    return _TAX_ID_SEPARATORS.sub("", text).lower()


def compacted(column):
    """SQL: a stored (normalised) tax id without its dash, lower case, as compact_tax_id."""
    return func.lower(func.replace(column, "-", ""))


def starts_with(column, prefix: str, dialect: str):
    """SQL: `column` (stored folded) begins with `prefix`, as a range an index answers.

    Comparisons, not LIKE: no wildcard to escape, and on PostgreSQL the byte-wise
    operators of `text_pattern_ops`, leakproof, so that row-level security lets the
    index answer them. SQLite compares text byte-wise already."""
    following = min(ord(prefix[-1]) + 1, 0x10FFFF)
    if 0xD800 <= following <= 0xDFFF:  # surrogates are no characters of a text
        following = 0xE000
    after = prefix[:-1] + chr(following)  # the first text past every match
    if dialect == "postgresql":
        return and_(column.op("~>=~")(prefix), column.op("~<~")(after))
    return and_(column >= prefix, column < after)


def contains(expression, text: str):
    """`expression` LIKE %text%, with the wildcards a person may type taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return expression.like(f"%{escaped}%", escape="\\")
