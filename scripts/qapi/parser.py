# SPDX-License-Identifier: GPL-2.0-or-later
"""Reading schema files.

The syntax is JSON with single-quoted strings, '#' comments to the end of
the line, and '##' doc blocks.  A file is a sequence of top-level objects
(no commas between them).  Every object remembers where it started and where
each of its keys sits, so later checks can point at the right line.
"""
import os
import re

from .error import Location, SchemaError


class SchemaDict(dict):
    """A dict that also remembers the line of the object and of each key."""

    def __init__(self, loc):
        super().__init__()
        self.loc = loc
        self.key_loc = {}

    def loc_of(self, key):
        return self.key_loc.get(key, self.loc)


class DocBlock:
    """One '## ... ##' comment block, split into its parts.

    symbol   -- the name after '@' on the first line, or None for free text
    heading  -- (level, title) when the block is a '= Title' line, else None
    body     -- description paragraphs (a list of lines, blanks kept)
    members  -- ordered {name: text} for '@name:' entries
    features -- ordered {name: text} for '@name:' entries under 'Features:'
    sections -- [(tag, text)] for 'Returns:', 'Since:', 'Example:' and friends
    """

    TAG_RE = re.compile(r'^(Returns|Errors|Since|Notes?|Examples?|Features|TODO)\s*:\s*(.*)$')
    ARG_RE = re.compile(r'^@([A-Za-z0-9_.*-]+)\s*:\s?(.*)$')

    def __init__(self, loc, lines):
        self.loc = loc
        self.symbol = None
        self.heading = None
        self.body = []
        self.members = {}
        self.features = {}
        self.member_loc = {}
        self.sections = []
        self._parse(lines)

    def _parse(self, lines):
        if not lines:
            return
        first_no, first = lines[0]
        m = re.match(r'^@([A-Za-z0-9_.-]+):\s*$', first)
        if m:
            self.symbol = m.group(1)
            lines = lines[1:]
        elif first.startswith('='):
            level = len(first) - len(first.lstrip('='))
            self.heading = (level, first.lstrip('=').strip())
            lines = lines[1:]
        mode = 'body'          # body | member | feature | section
        in_features = False
        current = None         # list collecting the current entry's lines
        for lineno, text in lines:
            if mode == 'section' and self.sections[-1][0].startswith('Example'):
                m = self.TAG_RE.match(text)
                if not m:
                    current.append(text)
                    continue
            m = self.TAG_RE.match(text)
            if m:
                tag = m.group(1)
                if tag == 'Features':
                    in_features = True
                    mode = 'body_wait'
                    if m.group(2).strip():
                        raise SchemaError(Location(self.loc.fname, lineno),
                                          "text after 'Features:' must go on "
                                          "'@feature:' lines")
                    continue
                current = [m.group(2)] if m.group(2) else []
                self.sections.append((tag, current))
                mode = 'section'
                continue
            m = self.ARG_RE.match(text)
            if m and mode != 'section':
                name = m.group(1)
                table = self.features if in_features else self.members
                if name in table:
                    raise SchemaError(Location(self.loc.fname, lineno),
                                      "'@%s' documented twice" % name)
                current = [m.group(2)] if m.group(2) else []
                table[name] = current
                self.member_loc[name] = Location(self.loc.fname, lineno)
                mode = 'feature' if in_features else 'member'
                continue
            if mode in ('member', 'feature'):
                if text.strip():
                    current.append(text.strip())
                    continue
                mode = 'body_wait'
                continue
            if mode == 'section':
                current.append(text)
                continue
            if mode == 'body_wait':
                if not text.strip():
                    continue
                mode = 'body'
                if self.body:
                    self.body.append('')
            self.body.append(text)
        # Normalise: entries become strings without trailing blank lines.
        self.body = _trim(self.body)
        for table in (self.members, self.features):
            for k in table:
                table[k] = ' '.join(l for l in table[k] if l).strip()
        self.sections = [(tag, '\n'.join(_trim(t))) for tag, t in self.sections]

    def section(self, tag):
        for t, text in self.sections:
            if t == tag:
                return text
        return None


def _trim(lines):
    lines = list(lines)
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return lines


class Expr:
    """A top-level definition: the parsed dict, its doc block, its file."""

    def __init__(self, data, doc):
        self.data = data
        self.doc = doc
        self.loc = data.loc


class Parser:
    """Parses one file (and, through 'include', the files it names)."""

    def __init__(self, fname, included=None, incl_loc=None):
        self.fname = fname
        self.included = included if included is not None else set()
        self.exprs = []        # Expr, in order, across includes
        self.docs = []         # free-form DocBlocks and Exprs, interleaved
        self.pragmas = {}
        try:
            with open(fname, encoding='utf-8') as f:
                self.src = f.read()
        except OSError as e:
            raise SchemaError(incl_loc, "can't read schema file '%s': %s"
                              % (fname, e.strerror))
        self.included.add(os.path.abspath(fname))
        self.pos = 0
        self.line = 1
        self.pending_doc = None
        self._parse_file()

    # ---- lexer ----
    def _loc(self):
        return Location(self.fname, self.line)

    def _error(self, msg):
        raise SchemaError(self._loc(), msg)

    def _skip_space(self):
        """Skips blanks and comments; collects '##' doc blocks."""
        src = self.src
        while self.pos < len(src):
            c = src[self.pos]
            if c == '\n':
                self.line += 1
                self.pos += 1
            elif c in ' \t\r':
                self.pos += 1
            elif c == '#':
                end = src.find('\n', self.pos)
                if end < 0:
                    end = len(src)
                text = src[self.pos:end]
                line_start = src.rfind('\n', 0, self.pos) + 1
                at_bol = not src[line_start:self.pos].strip()
                if text.rstrip() == '##' and at_bol:
                    self._read_doc_block()
                else:
                    self.pos = end
            else:
                return

    def _read_doc_block(self):
        start = self._loc()
        src = self.src
        # Move past the opening '##' line.
        self.pos = src.find('\n', self.pos)
        lines = []
        while True:
            if self.pos < 0 or self.pos >= len(src):
                raise SchemaError(start, "doc comment block is not closed with '##'")
            self.pos += 1
            self.line += 1
            end = src.find('\n', self.pos)
            if end < 0:
                end = len(src)
            raw = src[self.pos:end].strip(' \t\r')
            if raw == '##':
                self.pos = end
                break
            if not raw.startswith('#'):
                raise SchemaError(self._loc(), "doc comment line must start with '#'"
                                  " (close the block with '##')")
            text = raw[1:]
            if text.startswith(' '):
                text = text[1:]
            elif text:
                raise SchemaError(self._loc(), "doc comment text must be separated "
                                  "from '#' by a space")
            lines.append((self.line, text.rstrip()))
            self.pos = end
        if self.pending_doc is not None:
            self._flush_doc()
        self.pending_doc = DocBlock(start, lines)

    def _flush_doc(self):
        doc = self.pending_doc
        self.pending_doc = None
        if doc.symbol is not None:
            raise SchemaError(doc.loc, "doc comment for '%s' is not followed by "
                              "its definition" % doc.symbol)
        self.docs.append(doc)

    def _next_char(self):
        self._skip_space()
        if self.pos >= len(self.src):
            return None
        return self.src[self.pos]

    def _string(self):
        assert self.src[self.pos] == "'"
        self.pos += 1
        out = []
        src = self.src
        while True:
            if self.pos >= len(src) or src[self.pos] == '\n':
                self._error('unterminated string')
            c = src[self.pos]
            self.pos += 1
            if c == "'":
                return ''.join(out)
            if c == '\\':
                if self.pos >= len(src):
                    self._error('unterminated string')
                e = src[self.pos]
                self.pos += 1
                if e in "\\'\"/":
                    out.append(e)
                else:
                    self._error("unknown escape '\\%s' in string" % e)
                continue
            if ord(c) < 32:
                self._error('control character in string')
            out.append(c)

    def _value(self):
        c = self._next_char()
        if c is None:
            self._error('unexpected end of file')
        if c == '{':
            return self._dict()
        if c == '[':
            return self._list()
        if c == "'":
            return self._string()
        for word, val in (('true', True), ('false', False)):
            if self.src.startswith(word, self.pos):
                self.pos += len(word)
                return val
        if c == '"':
            self._error("strings are written with single quotes")
        self._error("unexpected character '%s'" % c)
        return None

    def _dict(self):
        d = SchemaDict(self._loc())
        self.pos += 1
        if self._next_char() == '}':
            self.pos += 1
            return d
        while True:
            c = self._next_char()
            if c == '"':
                self._error("strings are written with single quotes")
            if c != "'":
                self._error('expected a quoted key')
            kloc = self._loc()
            key = self._string()
            if key in d:
                raise SchemaError(kloc, "duplicate key '%s'" % key)
            if self._next_char() != ':':
                self._error("expected ':' after key '%s'" % key)
            self.pos += 1
            d[key] = self._value()
            d.key_loc[key] = kloc
            c = self._next_char()
            if c == ',':
                self.pos += 1
                continue
            if c == '}':
                self.pos += 1
                return d
            self._error("expected ',' or '}'")

    def _list(self):
        out = []
        self.pos += 1
        if self._next_char() == ']':
            self.pos += 1
            return out
        while True:
            out.append(self._value())
            c = self._next_char()
            if c == ',':
                self.pos += 1
                continue
            if c == ']':
                self.pos += 1
                return out
            self._error("expected ',' or ']'")

    # ---- top level ----
    def _parse_file(self):
        while True:
            c = self._next_char()
            if c is None:
                break
            if c != '{':
                self._error('expected a top-level definition (an object)')
            data = self._dict()
            self._top_level(data)
        if self.pending_doc is not None:
            self._flush_doc()

    def _top_level(self, data):
        doc = self.pending_doc
        self.pending_doc = None
        if 'include' in data:
            if doc is not None:
                self.pending_doc = doc
                self._flush_doc()
            if len(data) != 1 or not isinstance(data['include'], str):
                raise SchemaError(data.loc, "'include' takes just a file name")
            path = os.path.join(os.path.dirname(self.fname), data['include'])
            if os.path.abspath(path) in self.included:
                return
            sub = Parser(path, self.included, data.loc)
            self.exprs.extend(sub.exprs)
            self.docs.extend(sub.docs)
            for k, v in sub.pragmas.items():
                self.pragmas[k] = v
            return
        if 'pragma' in data:
            if doc is not None:
                self.pending_doc = doc
                self._flush_doc()
            if len(data) != 1 or not isinstance(data['pragma'], dict):
                raise SchemaError(data.loc, "'pragma' takes an object")
            self.pragmas.update(data['pragma'])
            return
        if doc is not None and doc.symbol is None:
            # Free-form text before a definition stands on its own.
            self.pending_doc = doc
            self._flush_doc()
            doc = None
        expr = Expr(data, doc)
        self.exprs.append(expr)
        self.docs.append(expr)
