"""The one exception tree of cift.

Every error a user can cause is a :class:`CiftError`; catching it catches them all. A bug in
cift shows up as any other exception.
"""

from __future__ import annotations

__all__ = ["CiftError", "ConfigError", "DataError", "JobError", "ParameterError", "StoreError"]


class CiftError(Exception):
    """Base class of every error cift raises on purpose."""


class ConfigError(CiftError):
    """A setting (environment variable, ``cift.toml``, argument) is invalid."""


class DataError(CiftError):
    """Input data is malformed: a missing column, a bad value, an unparsable timestamp.

    The message names the source (file or frame), the row (1-based) and the field at fault;
    the same facts are kept as attributes for programs.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        where = ", ".join(
            part
            for part in (
                source,
                f"row {row}" if row is not None else None,
                f"field '{field}'" if field is not None else None,
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.reason = message
        self.source = source
        self.row = row
        self.field = field

    def rows_later(self, rows: int) -> DataError:
        """The same error with its row ``rows`` further on (for a piece of a larger file)."""
        row = None if self.row is None else self.row + rows
        return DataError(self.reason, source=self.source, row=row, field=self.field)


class StoreError(CiftError):
    """A store cannot be opened, read or written."""


class JobError(CiftError):
    """A notebook job (papermill run, demo, report) failed."""


class ParameterError(CiftError, ValueError):
    """A function argument is out of its valid range or of the wrong kind; names the parameter."""
