"""Errors about the output folder (input errors live in ``source.errors``)."""


class OutputError(RuntimeError):
    """The output folder cannot be used."""
