# SPDX-License-Identifier: GPL-2.0-or-later
"""The checked schema: definitions turned into linked entity objects.

Every problem found here is a SchemaError pointing at the offending line.
"""
import re

from .common import c_name, camel_to_upper, enum_const
from .error import SchemaError
from .parser import Parser, SchemaDict

# name: (C type, JSON type for introspection, alternate kind)
BUILTINS = {
    'str': ('char *', 'string', 'string'),
    'int': ('int64_t', 'int', 'int'),
    'int8': ('int8_t', 'int', 'int'),
    'int16': ('int16_t', 'int', 'int'),
    'int32': ('int32_t', 'int', 'int'),
    'int64': ('int64_t', 'int', 'int'),
    'uint8': ('uint8_t', 'int', 'int'),
    'uint16': ('uint16_t', 'int', 'int'),
    'uint32': ('uint32_t', 'int', 'int'),
    'uint64': ('uint64_t', 'int', 'int'),
    'size': ('uint64_t', 'int', 'int'),
    'number': ('double', 'number', 'number'),
    'bool': ('bool', 'boolean', 'boolean'),
    'null': (None, 'null', 'null'),
    'any': ('json_object *', 'value', None),
}

TYPE_NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_]*$')
ENTITY_NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_-]*$')
MEMBER_NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_-]*$')
VALUE_NAME_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.+-]*$')


class Entity:
    meta = None

    def __init__(self, name, loc, doc=None, features=()):
        self.name = name
        self.loc = loc
        self.doc = doc
        self.features = list(features)

    def feature_names(self):
        return [f.name for f in self.features]

    @property
    def c_name(self):
        return c_name(self.name)


class Feature:
    def __init__(self, name, loc):
        self.name = name
        self.loc = loc


class Type(Entity):
    is_builtin = False
    implicit = False

    def c_type(self):
        """The C type of a member/variable holding this type."""
        return c_name(self.name) + ' *'

    def c_param(self):
        return self.c_type()

    def c_const(self):
        """The type of qapi_to_json_X's parameter."""
        return 'const ' + self.c_type()

    def is_pointer(self):
        return True

    def alt_kind(self):
        return None

    def json_kind(self):
        return 'object'


class BuiltinType(Type):
    meta = 'builtin'
    is_builtin = True

    def __init__(self, name):
        super().__init__(name, None)
        self._ctype, self.json_type, self._kind = BUILTINS[name]

    @property
    def c_name(self):
        return self.name       # 'int' stays 'int': intList, qapi_free_intList

    def c_type(self):
        return self._ctype

    def c_param(self):
        return 'const char *' if self.name == 'str' else self._ctype

    def c_const(self):
        return self.c_param()

    def is_pointer(self):
        return self.name in ('str', 'any')

    def alt_kind(self):
        return self._kind

    def json_kind(self):
        return {'string': 'string', 'int': 'integer', 'number': 'number',
                'boolean': 'boolean', 'null': 'null', 'value': 'any'}[self.json_type]


class EnumValue:
    def __init__(self, name, features, loc):
        self.name = name
        self.features = features
        self.loc = loc


class EnumType(Type):
    meta = 'enum'

    def __init__(self, name, loc, doc, features, values, prefix):
        super().__init__(name, loc, doc, features)
        self.values = values
        self.prefix = prefix if prefix is not None else camel_to_upper(name)

    def const(self, value):
        return enum_const(self.prefix, value)

    def max_const(self):
        return (self.prefix + '__MAX').upper()

    def c_type(self):
        return c_name(self.name)

    def c_param(self):
        return self.c_type()

    def c_const(self):
        return self.c_type()

    def is_pointer(self):
        return False

    def alt_kind(self):
        return 'string'

    def json_kind(self):
        return 'string'


class ArrayType(Type):
    meta = 'array'
    implicit = True

    def __init__(self, element):
        super().__init__('[%s]' % element.name, None)
        self.element = element

    @property
    def c_name(self):
        return self.element.c_name + 'List'

    def c_type(self):
        return self.c_name + ' *'

    def alt_kind(self):
        return 'array'

    def json_kind(self):
        return 'array'


class Member:
    def __init__(self, name, type_ref, optional, features, loc, owner):
        self.name = name
        self.type_ref = type_ref
        self.type = None
        self.optional = optional
        self.features = features
        self.loc = loc
        self.owner = owner

    @property
    def c_name(self):
        return c_name(self.name)

    def needs_has(self):
        return self.optional and not self.type.is_pointer()


class Variant:
    def __init__(self, case, type_ref, loc):
        self.case = case
        self.type_ref = type_ref
        self.type = None
        self.loc = loc

    @property
    def c_name(self):
        return c_name(self.case)


class ObjectType(Type):
    """A struct, or (with tag_name set) a union."""
    meta = 'object'

    def __init__(self, name, loc, doc, features, base_ref, local_members,
                 implicit=False):
        super().__init__(name, loc, doc, features)
        self.base_ref = base_ref
        self.base = None
        self.local_members = local_members
        self.members = None        # base members first, after check()
        self.implicit = implicit
        self.tag_name = None
        self.tag_member = None
        self.variants = []
        self.is_union = False

    def alt_kind(self):
        return 'object'


class AlternateType(Type):
    meta = 'alternate'

    def __init__(self, name, loc, doc, features, variants):
        super().__init__(name, loc, doc, features)
        self.variants = variants

    def alt_kind(self):
        return None


class Command(Entity):
    meta = 'command'

    def __init__(self, name, loc, doc, features, arg_ref, ret_ref, boxed,
                 gen, allow_oob, allow_preconfig):
        super().__init__(name, loc, doc, features)
        self.arg_ref = arg_ref
        self.arg_type = None
        self.ret_ref = ret_ref
        self.ret_type = None
        self.boxed = boxed
        self.gen = gen
        self.allow_oob = allow_oob
        self.allow_preconfig = allow_preconfig


class Event(Entity):
    meta = 'event'

    def __init__(self, name, loc, doc, features, arg_ref, boxed):
        super().__init__(name, loc, doc, features)
        self.arg_ref = arg_ref
        self.arg_type = None
        self.boxed = boxed


def _expect(cond, loc, msg):
    if not cond:
        raise SchemaError(loc, msg)


class Schema:
    def __init__(self, fname):
        parser = Parser(fname)
        self.pragmas = parser.pragmas
        self.docs = parser.docs
        self.entities = {}     # name -> Entity, user and implicit
        self.order = []        # definitions in schema order
        self.arrays = {}
        for name in BUILTINS:
            self.entities[name] = BuiltinType(name)
        self.empty = ObjectType('q_empty', None, None, [], None, [], implicit=True)
        self.empty.members = []
        self.entities['q_empty'] = self.empty
        for expr in parser.exprs:
            self._define(expr)
        self._check()

    # ---- pass 1: definitions ----
    def _add(self, ent):
        old = self.entities.get(ent.name)
        if old is not None:
            if old.loc is None:
                raise SchemaError(ent.loc, "'%s' is a built-in name" % ent.name)
            raise SchemaError(ent.loc, "'%s' is already defined at %s"
                              % (ent.name, old.loc))
        self.entities[ent.name] = ent
        if not getattr(ent, 'implicit', False):
            self.order.append(ent)

    def _define(self, expr):
        d = expr.data
        metas = [k for k in ('enum', 'struct', 'union', 'alternate', 'command',
                             'event') if k in d]
        if len(metas) != 1:
            raise SchemaError(d.loc, 'a definition needs exactly one of enum, '
                              'struct, union, alternate, command, event, '
                              'include, pragma')
        meta = metas[0]
        allowed = {
            'enum': {'data', 'prefix', 'features'},
            'struct': {'data', 'base', 'features'},
            'union': {'data', 'base', 'discriminator', 'features'},
            'alternate': {'data', 'features'},
            'command': {'data', 'returns', 'boxed', 'gen', 'allow-oob',
                        'allow-preconfig', 'success-response', 'features',
                        'coroutine'},
            'event': {'data', 'boxed', 'features'},
        }[meta]
        name = d[meta]
        _expect(isinstance(name, str), d.loc, "'%s' needs a name string" % meta)
        for key in d:
            if key == meta:
                continue
            if key == 'if':
                raise SchemaError(d.loc_of(key), "conditionals ('if') are not "
                                  "supported by this generator")
            _expect(key in allowed, d.loc_of(key),
                    "%s '%s' has unknown key '%s'" % (meta, name, key))
        if meta in ('command', 'event'):
            _expect(ENTITY_NAME_RE.match(name), d.loc, "invalid %s name '%s'" % (meta, name))
        else:
            _expect(TYPE_NAME_RE.match(name), d.loc,
                    "invalid type name '%s' (letters, digits and '_' only)" % name)
            _expect(not name.endswith('List'), d.loc,
                    "type name '%s' must not end in 'List'" % name)
        _expect(not name.lower().startswith('q_'), d.loc,
                "names starting with 'q_' are reserved")
        doc = expr.doc
        if doc is not None:
            _expect(doc.symbol == name, doc.loc,
                    "doc comment is for '%s', but the definition is '%s'"
                    % (doc.symbol, name))
        feats = self._features(d, 'features', d.loc_of('features'))
        getattr(self, '_define_' + meta)(name, d, doc, feats)

    def _features(self, d, key, loc):
        raw = d.get(key, [])
        _expect(isinstance(raw, list), loc, "'features' must be a list")
        out = []
        seen = set()
        for f in raw:
            if isinstance(f, dict):
                if 'if' in f:
                    raise SchemaError(loc, "conditionals ('if') are not supported")
                _expect(set(f) == {'name'}, loc, "a feature takes only 'name'")
                f = f['name']
            _expect(isinstance(f, str) and MEMBER_NAME_RE.match(f), loc,
                    'invalid feature name %r' % (f,))
            _expect(f not in seen, loc, "duplicate feature '%s'" % f)
            seen.add(f)
            out.append(Feature(f, loc))
        return out

    def _type_ref(self, ref, loc, what):
        """A type reference is 'Name' or ['Name']; checked later."""
        if isinstance(ref, str):
            return ref
        if isinstance(ref, list):
            _expect(len(ref) == 1 and isinstance(ref[0], str), loc,
                    "%s: an array type is written ['Type'] with one type name" % what)
            return ref
        raise SchemaError(loc, '%s: expected a type name' % what)

    def _members(self, data, loc, owner):
        _expect(isinstance(data, dict), loc, "'data' of '%s' must be an object" % owner)
        out = []
        for key, val in data.items():
            mloc = data.loc_of(key)
            optional = key.startswith('*')
            name = key[1:] if optional else key
            _expect(MEMBER_NAME_RE.match(name), mloc,
                    "invalid member name '%s' in '%s'" % (key, owner))
            feats = []
            if isinstance(val, dict):
                if 'if' in val:
                    raise SchemaError(mloc, "conditionals ('if') are not supported")
                for k in val:
                    _expect(k in ('type', 'features'), mloc,
                            "member '%s' of '%s' has unknown key '%s'" % (name, owner, k))
                _expect('type' in val, mloc, "member '%s' of '%s' needs 'type'"
                        % (name, owner))
                feats = self._features(val, 'features', mloc)
                val = val['type']
            ref = self._type_ref(val, mloc, "member '%s' of '%s'" % (name, owner))
            out.append(Member(name, ref, optional, feats, mloc, owner))
        return out

    def _define_enum(self, name, d, doc, feats):
        data = d.get('data')
        _expect(isinstance(data, list), d.loc, "enum '%s' needs a 'data' list" % name)
        prefix = d.get('prefix')
        _expect(prefix is None or (isinstance(prefix, str) and TYPE_NAME_RE.match(prefix)),
                d.loc_of('prefix'), "enum '%s': 'prefix' must be a C identifier" % name)
        values = []
        seen = {}
        for v in data:
            vfeats = []
            if isinstance(v, dict):
                if 'if' in v:
                    raise SchemaError(d.loc_of('data'), "conditionals ('if') are not supported")
                _expect('name' in v and set(v) <= {'name', 'features'},
                        d.loc_of('data'), "enum '%s': a value object takes 'name' "
                        "and 'features'" % name)
                vfeats = self._features(v, 'features', d.loc_of('data'))
                v = v['name']
            _expect(isinstance(v, str) and VALUE_NAME_RE.match(v), d.loc_of('data'),
                    "enum '%s' has invalid value %r" % (name, v))
            cn = c_name(v).lower()
            _expect(cn not in seen, d.loc_of('data'),
                    "enum '%s': value '%s' clashes with '%s'" % (name, v, seen.get(cn)))
            seen[cn] = v
            values.append(EnumValue(v, vfeats, d.loc_of('data')))
        self._add(EnumType(name, d.loc, doc, feats, values, prefix))

    def _define_struct(self, name, d, doc, feats):
        members = self._members(d.get('data', SchemaDict(d.loc)), d.loc_of('data'), name)
        base = d.get('base')
        _expect(base is None or isinstance(base, str), d.loc_of('base'),
                "struct '%s': 'base' must be a type name" % name)
        self._add(ObjectType(name, d.loc, doc, feats, base, members))

    def _define_union(self, name, d, doc, feats):
        base = d.get('base')
        _expect(base is not None, d.loc, "union '%s' needs a 'base'" % name)
        if isinstance(base, dict):
            bname = 'q_obj_%s-base' % name
            self._add(ObjectType(bname, d.loc_of('base'), None, [], None,
                                 self._members(base, d.loc_of('base'), name),
                                 implicit=True))
            base = bname
        _expect(isinstance(base, str), d.loc_of('base'),
                "union '%s': 'base' must be a type name or an object" % name)
        disc = d.get('discriminator')
        _expect(isinstance(disc, str), d.loc,
                "union '%s' needs a 'discriminator' naming a base member" % name)
        data = d.get('data')
        _expect(isinstance(data, dict), d.loc, "union '%s' needs a 'data' object" % name)
        obj = ObjectType(name, d.loc, doc, feats, base, [])
        obj.is_union = True
        obj.tag_name = disc
        for case, ref in data.items():
            vloc = data.loc_of(case)
            if isinstance(ref, dict):
                _expect(set(ref) == {'type'}, vloc, "union '%s' branch '%s' takes "
                        "only 'type'" % (name, case))
                ref = ref['type']
            _expect(isinstance(ref, str), vloc, "union '%s' branch '%s' must name "
                    "a struct type" % (name, case))
            obj.variants.append(Variant(case, ref, vloc))
        self._add(obj)

    def _define_alternate(self, name, d, doc, feats):
        data = d.get('data')
        _expect(isinstance(data, dict) and data, d.loc,
                "alternate '%s' needs a non-empty 'data' object" % name)
        variants = []
        for case, ref in data.items():
            vloc = data.loc_of(case)
            _expect(MEMBER_NAME_RE.match(case), vloc, "invalid branch name '%s'" % case)
            if isinstance(ref, dict):
                _expect(set(ref) == {'type'}, vloc, "alternate branch takes only 'type'")
                ref = ref['type']
            ref = self._type_ref(ref, vloc, "alternate '%s' branch '%s'" % (name, case))
            variants.append(Variant(case, ref, vloc))
        self._add(AlternateType(name, d.loc, doc, feats, variants))

    def _arg_ref(self, name, d, kind):
        data = d.get('data')
        if data is None:
            return None
        if isinstance(data, dict):
            if not data:
                return None
            aname = 'q_obj_%s-arg' % name
            self._add(ObjectType(aname, d.loc_of('data'), None, [], None,
                                 self._members(data, d.loc_of('data'), name),
                                 implicit=True))
            return aname
        _expect(isinstance(data, str), d.loc_of('data'),
                "%s '%s': 'data' must be an object or a type name" % (kind, name))
        return data

    def _bool(self, d, key, default, name):
        v = d.get(key, default)
        _expect(isinstance(v, bool), d.loc_of(key), "'%s' of '%s' must be true or false"
                % (key, name))
        return v

    def _define_command(self, name, d, doc, feats):
        arg = self._arg_ref(name, d, 'command')
        ret = d.get('returns')
        if ret is not None:
            ret = self._type_ref(ret, d.loc_of('returns'), "'returns' of '%s'" % name)
        boxed = self._bool(d, 'boxed', False, name)
        gen = self._bool(d, 'gen', True, name)
        oob = self._bool(d, 'allow-oob', False, name)
        pre = self._bool(d, 'allow-preconfig', False, name)
        self._bool(d, 'success-response', True, name)
        self._bool(d, 'coroutine', False, name)
        if boxed:
            _expect(isinstance(d.get('data'), str), d.loc,
                    "command '%s': 'boxed' needs 'data' to name a type" % name)
        self._add(Command(name, d.loc, doc, feats, arg, ret, boxed, gen, oob, pre))

    def _define_event(self, name, d, doc, feats):
        arg = self._arg_ref(name, d, 'event')
        boxed = self._bool(d, 'boxed', False, name)
        if boxed:
            _expect(isinstance(d.get('data'), str), d.loc,
                    "event '%s': 'boxed' needs 'data' to name a type" % name)
        self._add(Event(name, d.loc, doc, feats, arg, boxed))

    # ---- pass 2: resolution and checks ----
    def lookup(self, ref, loc, what, allow_array=True):
        if isinstance(ref, list):
            _expect(allow_array, loc, '%s cannot be an array' % what)
            elem = self.lookup(ref[0], loc, what, allow_array=False)
            return self.array_of(elem)
        ent = self.entities.get(ref)
        _expect(ent is not None, loc, "%s uses unknown type '%s'" % (what, ref))
        _expect(isinstance(ent, Type), loc, "%s: '%s' is a %s, not a type"
                % (what, ref, ent.meta))
        return ent

    def array_of(self, elem):
        arr = self.arrays.get(elem.name)
        if arr is None:
            _expect(not (elem.is_builtin and elem.name == 'null'), None,
                    "arrays of 'null' are not supported")
            arr = ArrayType(elem)
            self.arrays[elem.name] = arr
        return arr

    def objects(self):
        return [e for e in self.entities.values() if isinstance(e, ObjectType)
                and e is not self.empty]

    def _check(self):
        for obj in self.objects():
            self._check_object(obj, [])
        for ent in list(self.entities.values()):
            if isinstance(ent, AlternateType):
                self._check_alternate(ent)
        for ent in list(self.entities.values()):
            if isinstance(ent, Command):
                self._check_command(ent)
            elif isinstance(ent, Event):
                self._check_event(ent)
        self._check_c_clashes()
        self._check_docs()

    def _check_member_types(self, members, owner):
        for m in members:
            if m.type is None:
                m.type = self.lookup(m.type_ref, m.loc, "member '%s' of '%s'"
                                     % (m.name, m.owner))
                _expect(not (m.type.is_builtin and m.type.name == 'null'), m.loc,
                        "member '%s' of '%s': 'null' is only allowed in alternates"
                        % (m.name, m.owner))

    def _check_object(self, obj, stack):
        if obj.members is not None:
            return
        _expect(obj not in stack, obj.loc, "'%s' is its own base" % obj.name)
        members = []
        if obj.base_ref is not None:
            base = self.lookup(obj.base_ref, obj.loc, "base of '%s'" % obj.name,
                               allow_array=False)
            _expect(isinstance(base, ObjectType) and not base.is_union, obj.loc,
                    "base of '%s' must be a struct, not '%s'" % (obj.name, base.name))
            self._check_object(base, stack + [obj])
            obj.base = base
            members.extend(base.members)
        self._check_member_types(obj.local_members, obj.name)
        seen = {}
        for m in members + obj.local_members:
            cn = m.c_name
            _expect(not cn.startswith('has_'), m.loc,
                    "member name '%s' must not start with 'has-'" % m.name)
            if obj.is_union:
                _expect(cn != 'u', m.loc, "member name 'u' is reserved in unions")
            if cn in seen:
                old = seen[cn]
                raise SchemaError(m.loc, "member '%s' of '%s' clashes with member "
                                  "'%s' of '%s'" % (m.name, m.owner, old.name, old.owner))
            seen[cn] = m
        obj.members = members + obj.local_members
        if obj.is_union:
            self._check_union(obj, seen)

    def _check_union(self, obj, base_names):
        tag = [m for m in obj.members if m.name == obj.tag_name]
        _expect(tag, obj.loc, "discriminator '%s' is not a member of the base of "
                "union '%s'" % (obj.tag_name, obj.name))
        tag = tag[0]
        _expect(not tag.optional, obj.loc, "discriminator '%s' of union '%s' must "
                "not be optional" % (tag.name, obj.name))
        _expect(isinstance(tag.type, EnumType), obj.loc, "discriminator '%s' of "
                "union '%s' must be of enum type" % (tag.name, obj.name))
        obj.tag_member = tag
        values = {v.name for v in tag.type.values}
        for var in obj.variants:
            _expect(var.case in values, var.loc, "union '%s' branch '%s' is not a "
                    "value of enum '%s'" % (obj.name, var.case, tag.type.name))
            var.type = self.lookup(var.type_ref, var.loc, "union '%s' branch '%s'"
                                   % (obj.name, var.case), allow_array=False)
            _expect(isinstance(var.type, ObjectType) and not var.type.is_union,
                    var.loc, "union '%s' branch '%s' must be a struct type"
                    % (obj.name, var.case))
            self._check_object(var.type, [])
            for m in var.type.members:
                _expect(m.c_name not in base_names, var.loc,
                        "member '%s' of branch '%s' clashes with a base member of "
                        "union '%s'" % (m.name, var.case, obj.name))

    def _check_alternate(self, alt):
        kinds = {}
        for var in alt.variants:
            var.type = self.lookup(var.type_ref, var.loc, "alternate '%s' branch "
                                   "'%s'" % (alt.name, var.case))
            t = var.type
            if isinstance(t, ObjectType):
                self._check_object(t, [])
            kind = t.alt_kind()
            if kind == 'int':
                kind = 'number'     # one numeric branch: QType can't tell more
            _expect(kind is not None, var.loc, "alternate '%s' branch '%s': type "
                    "'%s' is not allowed in an alternate" % (alt.name, var.case, t.name))
            _expect(kind not in kinds, var.loc, "alternate '%s' branches '%s' and "
                    "'%s' can't be told apart" % (alt.name, kinds.get(kind), var.case))
            kinds[kind] = var.case

    def _arg_type(self, ent):
        if ent.arg_ref is None:
            return None
        t = self.lookup(ent.arg_ref, ent.loc, "'data' of '%s'" % ent.name,
                        allow_array=False)
        _expect(isinstance(t, ObjectType), ent.loc,
                "'data' of '%s' must be a struct (or union, with 'boxed')" % ent.name)
        self._check_object(t, [])
        _expect(ent.boxed or not t.is_union, ent.loc, "'data' of '%s' can be a "
                "union only with 'boxed': true" % ent.name)
        if not ent.boxed:
            for m in t.members:
                _expect(m.c_name != 'errp', m.loc,
                        "argument name '%s' is reserved" % m.name)
        return t

    def _check_command(self, cmd):
        cmd.arg_type = self._arg_type(cmd)
        if cmd.ret_ref is not None:
            cmd.ret_type = self.lookup(cmd.ret_ref, cmd.loc, "'returns' of '%s'" % cmd.name)
            _expect(not (cmd.ret_type.is_builtin and cmd.ret_type.name == 'null'),
                    cmd.loc, "'%s' cannot return null" % cmd.name)

    def _check_event(self, ev):
        ev.arg_type = self._arg_type(ev)

    def _check_c_clashes(self):
        seen = {}
        for ent in self.entities.values():
            if isinstance(ent, (Command, Event)):
                key = (ent.meta, ent.c_name.lower())
            elif isinstance(ent, Type) and not ent.is_builtin:
                key = ('type', ent.c_name)
            else:
                continue
            _expect(key not in seen, ent.loc, "'%s' clashes with '%s' in C"
                    % (ent.name, seen.get(key)))
            seen[key] = ent.name

    def _check_docs(self):
        required = self.pragmas.get('doc-required', False)
        for ent in self.order:
            doc = ent.doc
            if doc is None:
                _expect(not required, ent.loc, "'%s' has no doc comment" % ent.name)
                continue
            names = set()
            if isinstance(ent, ObjectType):
                names = {m.name for m in ent.local_members}
                if ent.base is not None and ent.base.implicit:
                    names |= {m.name for m in ent.base.members}
            elif isinstance(ent, EnumType):
                names = {v.name for v in ent.values}
            elif isinstance(ent, AlternateType):
                names = {v.case for v in ent.variants}
            elif isinstance(ent, (Command, Event)) and ent.arg_type is not None:
                if ent.boxed or not ent.arg_type.implicit:
                    names = None    # documented with the type
                else:
                    names = {m.name for m in ent.arg_type.members}
            for name in doc.members:
                _expect(names is None or name in names, doc.member_loc[name],
                        "'@%s' documents a member '%s' does not have" % (name, ent.name))
            fnames = set(ent.feature_names())
            if isinstance(ent, ObjectType):
                for m in ent.local_members:
                    fnames.update(f.name for f in m.features)
            if isinstance(ent, EnumType):
                for v in ent.values:
                    fnames.update(f.name for f in v.features)
            for name in doc.features:
                _expect(name in fnames, doc.member_loc[name],
                        "'@%s' documents a feature '%s' does not have" % (name, ent.name))

    # ---- queries for the generators ----
    def commands(self):
        return [e for e in self.order if isinstance(e, Command)]

    def events(self):
        return [e for e in self.order if isinstance(e, Event)]

    def user_types(self):
        return [e for e in self.order if isinstance(e, Type)]
