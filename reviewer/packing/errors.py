"""The one exception the packing library raises for bad input."""


class PackingError(Exception):
    """A problem with the user's upload.

    ``str(e)`` is one plain sentence meant to be shown to the user as is, so it
    names the offending archive member where there is one and never contains a
    traceback, a library name or a secret.
    """
