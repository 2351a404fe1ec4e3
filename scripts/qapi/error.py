# SPDX-License-Identifier: GPL-2.0-or-later
"""The one exception type the compiler raises for bad input."""


class Location:
    """Where something came from: a file name and a 1-based line."""

    def __init__(self, fname, line):
        self.fname = fname
        self.line = line

    def __str__(self):
        return '%s:%d' % (self.fname, self.line)


class SchemaError(Exception):
    """A problem in the schema, reported as 'file:line: message'."""

    def __init__(self, loc, msg):
        super().__init__(msg)
        self.loc = loc
        self.msg = msg

    def __str__(self):
        if self.loc is None:
            return self.msg
        return '%s: %s' % (self.loc, self.msg)
