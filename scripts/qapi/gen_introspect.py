# SPDX-License-Identifier: GPL-2.0-or-later
"""The SchemaInfo list returned by query-qmp-schema.

Only what a client can reach from a command or an event is listed.  As on
the QEMU wire, every integer builtin is shown as 'int'.
"""
from .schema import (AlternateType, ArrayType, BuiltinType, Command, EnumType,
                     Event, ObjectType)

INT_NAMES = {'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32',
             'uint64', 'size'}


def _tname(t):
    if isinstance(t, BuiltinType) and t.name in INT_NAMES:
        return 'int'
    if isinstance(t, ArrayType):
        return '[%s]' % _tname(t.element)
    return t.name


def _features(ent):
    return [f.name for f in ent.features]


def introspection_entries(schema):
    out = []
    seen = set()
    queue = []

    def use(t):
        name = _tname(t)
        if name not in seen:
            seen.add(name)
            if isinstance(t, BuiltinType) and t.name in INT_NAMES:
                t = schema.entities['int']
            queue.append(t)
        return name

    empty = schema.empty
    for ent in schema.order:
        if isinstance(ent, Command):
            e = {'name': ent.name, 'meta-type': 'command',
                 'arg-type': use(ent.arg_type or empty),
                 'ret-type': use(ent.ret_type or empty)}
            if ent.allow_oob:
                e['allow-oob'] = True
        elif isinstance(ent, Event):
            e = {'name': ent.name, 'meta-type': 'event',
                 'arg-type': use(ent.arg_type or empty)}
        else:
            continue
        if ent.features:
            e['features'] = _features(ent)
        out.append(e)
    while queue:
        t = queue.pop(0)
        e = {'name': _tname(t), 'meta-type': t.meta}
        if isinstance(t, BuiltinType):
            e['json-type'] = t.json_type
        elif isinstance(t, EnumType):
            members = []
            for v in t.values:
                m = {'name': v.name}
                if v.features:
                    m['features'] = [f.name for f in v.features]
                members.append(m)
            e['members'] = members
            e['values'] = [v.name for v in t.values]
        elif isinstance(t, ArrayType):
            e['element-type'] = use(t.element)
        elif isinstance(t, ObjectType):
            members = []
            for m in t.members:
                d = {'name': m.name, 'type': use(m.type)}
                if m.optional:
                    d['default'] = None
                if m.features:
                    d['features'] = [f.name for f in m.features]
                members.append(d)
            e['members'] = members
            if t.is_union:
                e['tag'] = t.tag_name
                e['variants'] = [{'case': v.case, 'type': use(v.type)}
                                 for v in t.variants]
        elif isinstance(t, AlternateType):
            e['members'] = [{'type': use(v.type)} for v in t.variants]
        if t.features:
            e['features'] = _features(t)
        out.append(e)
    return out
