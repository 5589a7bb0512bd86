"""Validate a JSON request body against a botocore service model.

Generic: works for any JSON-protocol service botocore knows (Step Functions,
SSM, ACM, Config, Resource Groups Tagging, DynamoDB, ...).  Each operation's
input shape is compiled once into a tree of small checker closures, so a
request costs one walk over its own members.

Checks: required members (JSON null counts as absent), unknown members (on by
default; AWS itself ignores them), types (string, integer/long within their
ranges, float/double, boolean, structure, list, map, timestamp as a JSON
number, blob as a base64 string, document, tagged unions), string length
(counted in UTF-16 code units, as AWS's Java services do), list and map
length, numeric min/max, enum values and regex patterns.

Messages follow AWS's form, e.g.
  "Value at 'taskToken' failed to satisfy constraint: Member must have length
   less than or equal to 2048"
and errors.validation() prefixes "N validation error(s) detected: ".
Values of sensitive or long members are not echoed.
"""

import base64
import binascii
import re
import threading

INT32 = (-2 ** 31, 2 ** 31 - 1)
INT64 = (-2 ** 63, 2 ** 63 - 1)
_ECHO_MAX = 128


def _utf16_len(s):
    return len(s) if s.isascii() else len(s.encode('utf-16-le')) // 2


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class ModelValidator:
    """Validator for one service model.

    shape_overrides: {shape_name: {metadata_key: value}} applied on top of the
    model (for limits that changed in AWS after the installed botocore).
    reject_unknown: report members the model does not define.
    """

    def __init__(self, service_model, shape_overrides=None,
                 reject_unknown=True):
        self.model = service_model
        self.overrides = shape_overrides or {}
        self.reject_unknown = reject_unknown
        self._lock = threading.Lock()
        self._ops = {}          # operation name -> checker or None
        self._shapes = {}       # shape name -> checker (for recursion)

    # -- public ------------------------------------------------------------

    def validate(self, operation_name, params):
        """Return a list of AWS-style messages (empty when valid)."""
        check = self._ops.get(operation_name)
        if check is None:
            with self._lock:
                check = self._ops.get(operation_name)
                if check is None:
                    op = self.model.operation_model(operation_name)
                    shape = op.input_shape
                    check = (self._compile(shape) if shape is not None
                             else self._empty_structure)
                    self._ops[operation_name] = check
        errs = []
        check(params, '', errs)
        return errs

    # -- compilation -------------------------------------------------------

    def _meta(self, shape):
        meta = dict(shape.metadata)
        meta.update(self.overrides.get(shape.name, {}))
        return meta

    def _empty_structure(self, value, path, errs):
        if not isinstance(value, dict):
            errs.append(_msg(path, None, 'Member must be a structure'))
        elif self.reject_unknown:
            for k in value:
                errs.append(_msg(_join(path, k), None,
                                 'Member is not defined in the input shape'))

    def _compile(self, shape):
        name = shape.name
        if name in self._shapes:
            return self._shapes[name]
        # Placeholder first so recursive shapes terminate.
        cell = []
        self._shapes[name] = lambda v, p, e: cell[0](v, p, e)
        fn = self._compile_shape(shape)
        cell.append(fn)
        self._shapes[name] = fn
        return fn

    def _compile_shape(self, shape):
        t = shape.type_name
        meta = self._meta(shape)
        sensitive = bool(meta.get('sensitive'))
        if t == 'structure':
            if meta.get('document') or getattr(shape, 'is_document_type',
                                               False):
                return lambda v, p, e: None
            return self._compile_structure(shape, meta)
        if t == 'list':
            return self._compile_list(shape, meta)
        if t == 'map':
            return self._compile_map(shape, meta)
        if t == 'string':
            return self._compile_string(shape, meta, sensitive)
        if t in ('integer', 'long'):
            lo, hi = INT32 if t == 'integer' else INT64
            return self._compile_number(meta, sensitive, True, lo, hi, t)
        if t in ('float', 'double'):
            return self._compile_number(meta, sensitive, False, None, None, t)
        if t == 'boolean':
            def check_bool(v, p, e):
                if not isinstance(v, bool):
                    e.append(_msg(p, None, 'Member must be of type boolean'))
            return check_bool
        if t == 'timestamp':
            def check_ts(v, p, e):
                if not _is_number(v):
                    e.append(_msg(p, None, 'Member must be of type timestamp '
                                  '(a number of epoch seconds)'))
            return check_ts
        if t == 'blob':
            return self._compile_blob(meta)
        return lambda v, p, e: None      # unknown kinds: accept

    def _compile_structure(self, shape, meta):
        members = {n: self._compile(s) for n, s in shape.members.items()}
        required = list(shape.required_members)
        union = bool(meta.get('union'))
        sname = shape.name
        owner = self        # reject_unknown is read per call (a setting)

        def check_struct(v, p, e):
            if not isinstance(v, dict):
                e.append(_msg(p, None, 'Member must be a structure'))
                return
            for r in required:
                if v.get(r) is None:
                    e.append(f"Value null at '{_join(p, r)}' failed to satisfy"
                             ' constraint: Member must not be null')
            nset = 0
            for k, val in v.items():
                chk = members.get(k)
                if chk is None:
                    if owner.reject_unknown:
                        e.append(_msg(_join(p, k), None, 'Member is not '
                                      f'defined in structure {sname}'))
                    continue
                if val is None:
                    continue
                nset += 1
                chk(val, _join(p, k), e)
            if union and nset != 1:
                e.append(_msg(p, None, 'Union must have exactly one member '
                              f'set, found {nset}'))
        return check_struct

    def _compile_list(self, shape, meta):
        item = self._compile(shape.member)
        lo, hi = meta.get('min'), meta.get('max')

        def check_list(v, p, e):
            if not isinstance(v, list):
                e.append(_msg(p, None, 'Member must be of type list'))
                return
            _check_len(len(v), lo, hi, p, None, e)
            for i, x in enumerate(v):
                ip = f'{p}.{i + 1}.member'
                if x is None:
                    e.append(f"Value null at '{ip}' failed to satisfy "
                             'constraint: Member must not be null')
                else:
                    item(x, ip, e)
        return check_list

    def _compile_map(self, shape, meta):
        key = self._compile(shape.key)
        val = self._compile(shape.value)
        lo, hi = meta.get('min'), meta.get('max')

        def check_map(v, p, e):
            if not isinstance(v, dict):
                e.append(_msg(p, None, 'Member must be of type map'))
                return
            _check_len(len(v), lo, hi, p, None, e)
            for k, x in v.items():
                key(k, f'{p}.{k}(key)', e)
                if x is None:
                    e.append(f"Value null at '{p}.{k}' failed to satisfy "
                             'constraint: Member must not be null')
                else:
                    val(x, f'{p}.{k}', e)
        return check_map

    def _compile_string(self, shape, meta, sensitive):
        lo, hi = meta.get('min'), meta.get('max')
        enum = list(getattr(shape, 'enum', None) or [])
        enum_set = set(enum)
        pattern = None
        if meta.get('pattern'):
            try:
                pattern = re.compile(meta['pattern'])
            except re.error:
                pattern = None          # a Java-only construct: skip it

        def check_str(v, p, e):
            if not isinstance(v, str):
                e.append(_msg(p, None, 'Member must be of type string'))
                return
            echo = None if sensitive else v
            _check_len(_utf16_len(v), lo, hi, p, echo, e)
            if enum_set and v not in enum_set:
                e.append(_msg(p, echo, 'Member must satisfy enum value set: '
                              f'[{", ".join(enum)}]'))
            if pattern is not None and pattern.search(v) is None:
                e.append(_msg(p, echo, 'Member must satisfy regular '
                              f'expression pattern: {pattern.pattern}'))
        return check_str

    def _compile_number(self, meta, sensitive, integral, lo_t, hi_t, tname):
        lo, hi = meta.get('min'), meta.get('max')

        def check_num(v, p, e):
            if integral:
                if not isinstance(v, int) or isinstance(v, bool):
                    e.append(_msg(p, None, f'Member must be of type {tname}'))
                    return
                if v < lo_t or v > hi_t:
                    e.append(_msg(p, None, f'Member must be of type {tname} '
                                  f'(between {lo_t} and {hi_t})'))
                    return
            elif not _is_number(v):
                e.append(_msg(p, None, f'Member must be of type {tname}'))
                return
            echo = None if sensitive else v
            if lo is not None and v < lo:
                e.append(_msg(p, echo, 'Member must have value greater than '
                              f'or equal to {lo}'))
            if hi is not None and v > hi:
                e.append(_msg(p, echo, 'Member must have value less than or '
                              f'equal to {hi}'))
        return check_num

    def _compile_blob(self, meta):
        lo, hi = meta.get('min'), meta.get('max')

        def check_blob(v, p, e):
            if not isinstance(v, str):
                e.append(_msg(p, None, 'Member must be of type blob (a base64 '
                              'string)'))
                return
            try:
                raw = base64.b64decode(v, validate=True)
            except (binascii.Error, ValueError):
                e.append(_msg(p, None, 'Member must be valid base64'))
                return
            _check_len(len(raw), lo, hi, p, None, e)
        return check_blob


def _join(path, name):
    return f'{path}.{name}' if path else name


def _msg(path, value, constraint):
    if value is None or (isinstance(value, str) and len(value) > _ECHO_MAX):
        return f"Value at '{path}' failed to satisfy constraint: {constraint}"
    return (f"Value '{value}' at '{path}' failed to satisfy constraint: "
            f'{constraint}')


def _check_len(n, lo, hi, path, echo, errs):
    if lo is not None and n < lo:
        errs.append(_msg(path, echo, 'Member must have length greater than '
                         f'or equal to {lo}'))
    if hi is not None and n > hi:
        errs.append(_msg(path, echo, 'Member must have length less than or '
                         f'equal to {hi}'))
