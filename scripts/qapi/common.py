# SPDX-License-Identifier: GPL-2.0-or-later
"""Name mangling and small text helpers shared by the generators."""
import re

# C keywords, plus identifiers that GNU C predefines as macros (so a member
# called 'unix' cannot be spelled as is).
C_RESERVED = frozenset('''
    auto break case char const continue default do double else enum extern
    float for goto if inline int long register restrict return short signed
    sizeof static struct switch typedef union unsigned void volatile while
    _Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary _Noreturn
    _Static_assert _Thread_local bool true false asm typeof
    unix linux i386 errno
'''.split())


def c_name(name):
    """Schema name to C identifier: '-' and '.' become '_', keywords get q_."""
    out = re.sub(r'[-.+]', '_', name)
    if out in C_RESERVED:
        out = 'q_' + out
    return out


def camel_to_upper(name):
    """'RunState' -> 'RUN_STATE', 'QMPCapability' -> 'QMP_CAPABILITY'."""
    out = []
    for i, ch in enumerate(name):
        if ch in '-.':
            out.append('_')
            continue
        if i > 0 and ch.isupper():
            prev = name[i - 1]
            nxt = name[i + 1] if i + 1 < len(name) else ''
            if prev.islower() or prev.isdigit() or (prev.isupper() and nxt.islower()):
                if out and out[-1] != '_':
                    out.append('_')
        out.append(ch.upper())
    return ''.join(out)


def enum_const(enum_prefix, value):
    return (enum_prefix + '_' + re.sub(r'[-.+]', '_', value)).upper()


def c_string(s):
    """A C string literal for s (ASCII-safe)."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '\\':
            out.append('\\\\')
        elif ch == '"':
            out.append('\\"')
        elif ch == '\n':
            out.append('\\n')
        elif 32 <= o < 127:
            out.append(ch)
        else:
            for b in ch.encode('utf-8'):
                out.append('\\%03o' % b)
    out.append('"')
    return ''.join(out)


class Writer:
    """Collects lines of C; indent() / dedent() shift by four spaces."""

    def __init__(self):
        self.lines = []
        self.level = 0

    def __call__(self, text=''):
        for line in text.split('\n'):
            if line.strip():
                self.lines.append('    ' * self.level + line)
            else:
                self.lines.append('')

    def indent(self):
        self.level += 1

    def dedent(self):
        self.level -= 1

    def text(self):
        return '\n'.join(self.lines) + '\n'
