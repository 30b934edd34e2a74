"""The one exception type users catch, with the user's file, line and source line."""

from __future__ import annotations


class S2SADError(Exception):
    """Raised when s2sad cannot (or must not) differentiate a function.

    The message names the construct, the user's ``file:line``, the source line and a hint.
    The parts are also kept as attributes: ``what``, ``filename``, ``lineno``, ``source_line``
    and ``hint``.
    """

    def __init__(
        self,
        what: str,
        filename: str | None = None,
        lineno: int | None = None,
        source_line: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.what = what
        self.filename = filename
        self.lineno = lineno
        self.source_line = source_line
        self.hint = hint
        super().__init__(self._format())

    def __reduce__(self):  # (raised in a worker process, it arrives with its parts)
        return (type(self), (self.what, self.filename, self.lineno, self.source_line,
                             self.hint))

    def _format(self) -> str:
        where = ""
        if self.filename is not None:
            where = f"{self.filename}:{self.lineno}: " if self.lineno else f"{self.filename}: "
        text = f"{where}{self.what}"
        if self.source_line:
            text += f"\n    {self.source_line.strip()}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def one_line(self) -> str:
        """``file:line: what`` on one line, for the command line."""
        where = f"{self.filename}:{self.lineno}: " if self.filename else ""
        return f"{where}{self.what}"
