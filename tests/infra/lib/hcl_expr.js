'use strict';
/* hcl_expr.js - evaluates the small part of Terraform's expression language
 * the module's computed values use, so the checks can run them without a
 * terraform binary (check_dry_run.js: the per-class dryRun and the
 * validation of var.dry_run_by_class).
 *
 * hcl2json hands expressions back as text ("${...}" inside strings); this
 * parses that text and evaluates it against variable values, the module's
 * locals (evaluated on demand) and `each`. Supported:
 *   literals (numbers, "strings" with ${...} interpolation, true, false,
 *   null), [lists], {objects}, var.x, local.x, each.key/each.value, names
 *   bound by a for expression, x[i], x.attr, ( ), !, ==, !=, &&, ||,
 *   [for k, v in X : V if C] and {for k, v in X : K => V if C},
 *   lookup(), contains(), keys(), values(), alltrue(), anytrue(), length().
 * Anything else (another function, a conditional, arithmetic, splats,
 * directives) throws HclExprError naming it: a check then fails and says
 * the expression is outside what it can read, rather than guessing.
 * Semantics follow Terraform where these overlap: a string that is exactly
 * one "${expr}" yields expr's value (not its text); maps iterate in
 * lexical key order; an interpolated null is an error; lookup() without a
 * default fails on a missing key.
 *
 * check_dry_run.js compares its results with `terraform console` when a
 * terraform binary is installed.
 */

class HclExprError extends Error {}

/* ---- tokens ---------------------------------------------------------------- */

const PUNCT = ['=>', '==', '!=', '&&', '||', '(', ')', '[', ']', '{', '}', ',', ':', '.', '!', '='];

function tokenize(src) {
  const out = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === '"') {
      const end = stringEnd(src, i);
      out.push({ t: 'str', v: src.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    const num = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(src.slice(i));
    if (num) { out.push({ t: 'num', v: Number(num[0]) }); i += num[0].length; continue; }
    const id = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i));
    if (id) { out.push({ t: 'id', v: id[0] }); i += id[0].length; continue; }
    const p = PUNCT.find((x) => src.startsWith(x, i));
    if (!p) throw new HclExprError(`unsupported character ${JSON.stringify(c)} in ${JSON.stringify(src)}`);
    out.push({ t: 'p', v: p });
    i += p.length;
  }
  return out;
}

/* Index of the closing quote of the string opening at src[open]; skips
 * escapes and ${...} (which may hold strings of their own). */
function stringEnd(src, open) {
  let i = open + 1;
  while (i < src.length) {
    if (src[i] === '\\') { i += 2; continue; }
    if (src[i] === '"') return i;
    if (src.startsWith('$${', i)) { i += 3; continue; }
    if (src.startsWith('${', i)) { i = braceEnd(src, i + 1) + 1; continue; }
    if (src.startsWith('%{', i) && !src.startsWith('%%{', i - 1)) throw new HclExprError(`template directives are not supported: ${src}`);
    i++;
  }
  throw new HclExprError(`unterminated string in ${JSON.stringify(src)}`);
}

function braceEnd(src, open) {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    if (src[i] === '"') { i = stringEnd(src, i); continue; }
    if (src[i] === '{') depth++;
    else if (src[i] === '}' && --depth === 0) return i;
  }
  throw new HclExprError(`unbalanced braces in ${JSON.stringify(src)}`);
}

/* ---- parser: tokens -> tree ---------------------------------------------- */

function parse(src) {
  const toks = tokenize(src);
  let k = 0;
  const peek = (v) => toks[k] && toks[k].t === 'p' && toks[k].v === v;
  const peekId = (v) => toks[k] && toks[k].t === 'id' && toks[k].v === v;
  const take = (v) => {
    if (!peek(v)) throw new HclExprError(`expected "${v}" at token ${k} of ${JSON.stringify(src)}`);
    k++;
  };
  const ident = () => {
    const t = toks[k++];
    if (!t || t.t !== 'id') throw new HclExprError(`expected a name at token ${k - 1} of ${JSON.stringify(src)}`);
    return t.v;
  };

  function expr() { return or(); }
  function binary(next, ops) {
    return () => {
      let left = next();
      while (toks[k] && toks[k].t === 'p' && ops.includes(toks[k].v)) {
        const op = toks[k++].v;
        left = { n: 'bin', op, left, right: next() };
      }
      return left;
    };
  }
  const eq = binary(unary, ['==', '!=']);
  const and = binary(eq, ['&&']);
  const or = binary(and, ['||']);
  function unary() {
    if (peek('!')) { k++; return { n: 'not', e: unary() }; }
    return postfix();
  }
  function postfix() {
    let e = primary();
    for (;;) {
      if (peek('[')) { k++; const i = expr(); take(']'); e = { n: 'index', e, i }; } else if (peek('.')) { k++; e = { n: 'attr', e, name: ident() }; } else return e;
    }
  }
  function forHead() {
    k++; // for
    let a = ident();
    let b = null;
    if (peek(',')) { k++; b = ident(); }
    if (!peekId('in')) throw new HclExprError(`expected "in" in a for expression: ${src}`);
    k++;
    const coll = expr();
    take(':');
    return b === null ? { key: null, val: a, coll } : { key: a, val: b, coll };
  }
  function primary() {
    const t = toks[k];
    if (!t) throw new HclExprError(`unexpected end of ${JSON.stringify(src)}`);
    if (t.t === 'num') { k++; return { n: 'lit', v: t.v }; }
    if (t.t === 'str') { k++; return { n: 'tpl', parts: templateParts(t.v) }; }
    if (t.t === 'id') {
      k++;
      if (t.v === 'true' || t.v === 'false') return { n: 'lit', v: t.v === 'true' };
      if (t.v === 'null') return { n: 'lit', v: null };
      if (peek('(')) {
        k++;
        const args = [];
        while (!peek(')')) { args.push(expr()); if (!peek(')')) take(','); }
        k++;
        return { n: 'call', f: t.v, args };
      }
      return { n: 'name', v: t.v };
    }
    if (peek('(')) { k++; const e = expr(); take(')'); return e; }
    if (peek('[')) {
      k++;
      if (peekId('for')) {
        const h = forHead();
        const val = expr();
        const cond = peekId('if') ? (k++, expr()) : null;
        take(']');
        return Object.assign({ n: 'forList', v: val, cond }, h);
      }
      const items = [];
      while (!peek(']')) { items.push(expr()); if (!peek(']')) take(','); }
      k++;
      return { n: 'list', items };
    }
    if (peek('{')) {
      k++;
      if (peekId('for')) {
        const h = forHead();
        const ke = expr();
        take('=>');
        const val = expr();
        const cond = peekId('if') ? (k++, expr()) : null;
        take('}');
        return Object.assign({ n: 'forObj', k: ke, v: val, cond }, h);
      }
      const items = [];
      while (!peek('}')) {
        const kt = toks[k++];
        const key = kt.t === 'id' ? { n: 'lit', v: kt.v } : kt.t === 'str' ? { n: 'tpl', parts: templateParts(kt.v) } : null;
        if (!key) throw new HclExprError(`unsupported object key in ${src}`);
        if (peek('=') || peek(':')) k++; else throw new HclExprError(`expected "=" in an object: ${src}`);
        items.push([key, expr()]);
        if (peek(',')) k++;
      }
      k++;
      return { n: 'obj', items };
    }
    throw new HclExprError(`unsupported token ${JSON.stringify(t.v)} in ${JSON.stringify(src)}`);
  }

  const tree = expr();
  if (k !== toks.length) throw new HclExprError(`unsupported syntax at token ${k} (${JSON.stringify(toks[k].v)}) of ${JSON.stringify(src)}`);
  return tree;
}

/* A string's body as literal text and parsed interpolations: from source
 * (between the quotes, escapes not yet decoded), or as hcl2json gives it
 * (decoded: the literal text is as is, the interpolations are source). */
function templateParts(body, decoded) {
  const parts = [];
  let lit = '';
  let i = 0;
  while (i < body.length) {
    if (body[i] === '\\' && !decoded) {
      const e = body[i + 1];
      const map = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
      if (!(e in map)) throw new HclExprError(`unsupported escape \\${e}`);
      lit += map[e];
      i += 2;
    } else if (body.startsWith('$${', i)) {
      lit += '${';
      i += 3;
    } else if (body.startsWith('%%{', i)) {
      lit += '%{';
      i += 3;
    } else if (body.startsWith('%{', i)) {
      throw new HclExprError(`template directives are not supported: ${body}`);
    } else if (body.startsWith('${', i)) {
      const end = braceEnd(body, i + 1);
      if (lit) parts.push(lit);
      lit = '';
      parts.push(parse(body.slice(i + 2, end)));
      i = end + 1;
    } else {
      lit += body[i++];
    }
  }
  if (lit || parts.length === 0) parts.push(lit);
  return parts;
}

/* ---- evaluation ------------------------------------------------------------ */

function typeName(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  return typeof v === 'object' ? 'map' : typeof v;
}

function sameValue(a, b) {
  if (a === b) return true;
  if (typeName(a) !== typeName(b) || typeof a !== 'object' || a === null) return false;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return JSON.stringify(ka) === JSON.stringify(kb) && ka.every((x) => sameValue(a[x], b[x]));
}

function render(v) {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return String(v);
  if (v === null) throw new HclExprError('Invalid template interpolation value: the expression result is null');
  throw new HclExprError(`Invalid template interpolation value: cannot include a ${typeName(v)} in a string`);
}

function pairs(coll) {
  if (Array.isArray(coll)) return coll.map((v, i) => [i, v]);
  if (coll && typeof coll === 'object') return Object.keys(coll).sort().map((x) => [x, coll[x]]);
  throw new HclExprError(`a for expression needs a list or a map, got ${typeName(coll)}`);
}

function bool(v, what) {
  if (typeof v !== 'boolean') throw new HclExprError(`${what} needs a bool, got ${typeName(v)}`);
  return v;
}

const FUNCTIONS = {
  lookup(m, key, ...def) {
    if (typeName(m) !== 'map') throw new HclExprError(`lookup() needs a map, got ${typeName(m)}`);
    if (Object.prototype.hasOwnProperty.call(m, key)) return m[key];
    if (def.length) return def[0];
    throw new HclExprError(`lookup(): the map has no key ${JSON.stringify(key)}`);
  },
  contains(list, v) {
    if (!Array.isArray(list)) throw new HclExprError(`contains() needs a list, got ${typeName(list)}`);
    return list.some((x) => sameValue(x, v));
  },
  keys(m) {
    if (typeName(m) !== 'map') throw new HclExprError(`keys() needs a map, got ${typeName(m)}`);
    return Object.keys(m).sort();
  },
  values(m) {
    if (typeName(m) !== 'map') throw new HclExprError(`values() needs a map, got ${typeName(m)}`);
    return Object.keys(m).sort().map((x) => m[x]);
  },
  alltrue(list) { return list.every((x) => bool(x, 'alltrue()')); },
  anytrue(list) { return list.some((x) => bool(x, 'anytrue()')); },
  length(v) {
    if (typeof v === 'string') return [...v].length;
    if (v && typeof v === 'object') return Object.keys(v).length;
    throw new HclExprError(`length() of ${typeName(v)}`);
  },
};

function evalNode(node, scope) {
  switch (node.n) {
    case 'lit': return node.v;
    case 'tpl': {
      if (node.parts.length === 1 && typeof node.parts[0] !== 'string') return evalNode(node.parts[0], scope);
      return node.parts.map((p) => (typeof p === 'string' ? p : render(evalNode(p, scope)))).join('');
    }
    case 'list': return node.items.map((e) => evalNode(e, scope));
    case 'obj': {
      const out = {};
      for (const [ke, ve] of node.items) out[render(evalNode(ke, scope))] = evalNode(ve, scope);
      return out;
    }
    case 'name': {
      if (Object.prototype.hasOwnProperty.call(scope.bound, node.v)) return scope.bound[node.v];
      if (node.v === 'var') return scope.vars;
      if (node.v === 'local') return scope.locals;
      if (node.v === 'each' && scope.each) return scope.each;
      throw new HclExprError(`unknown name ${node.v}`);
    }
    case 'attr': {
      const base = evalNode(node.e, scope);
      return index(base, node.name, node);
    }
    case 'index': return index(evalNode(node.e, scope), evalNode(node.i, scope), node);
    case 'call': {
      const f = FUNCTIONS[node.f];
      if (!f) throw new HclExprError(`function ${node.f}() is not supported here`);
      return f(...node.args.map((a) => evalNode(a, scope)));
    }
    case 'not': return !bool(evalNode(node.e, scope), '!');
    case 'bin': {
      if (node.op === '&&' || node.op === '||') {
        const l = bool(evalNode(node.left, scope), node.op);
        const r = bool(evalNode(node.right, scope), node.op);
        return node.op === '&&' ? l && r : l || r;
      }
      const same = sameValue(evalNode(node.left, scope), evalNode(node.right, scope));
      return node.op === '==' ? same : !same;
    }
    case 'forList':
    case 'forObj': {
      const out = node.n === 'forList' ? [] : {};
      for (const [key, val] of pairs(evalNode(node.coll, scope))) {
        const bound = Object.assign({}, scope.bound, { [node.val]: val });
        if (node.key) bound[node.key] = key;
        const inner = Object.assign({}, scope, { bound });
        if (node.cond && !bool(evalNode(node.cond, inner), 'a for expression\'s if')) continue;
        if (node.n === 'forList') out.push(evalNode(node.v, inner));
        else {
          const k = render(evalNode(node.k, inner));
          if (Object.prototype.hasOwnProperty.call(out, k)) throw new HclExprError(`duplicate object key ${JSON.stringify(k)} in a for expression`);
          out[k] = evalNode(node.v, inner);
        }
      }
      return out;
    }
    default: throw new HclExprError(`internal: node ${node.n}`);
  }
}

function index(base, key, node) {
  if (base && typeof base === 'object' && base.__lazy) return base.get(key);
  if (Array.isArray(base)) {
    if (typeof key !== 'number' || !(key in base)) throw new HclExprError(`invalid index ${JSON.stringify(key)}`);
    return base[key];
  }
  if (typeName(base) === 'map') {
    if (!Object.prototype.hasOwnProperty.call(base, key)) throw new HclExprError(`invalid index: no key ${JSON.stringify(key)}${node.n === 'attr' ? ` (.${node.name})` : ''}`);
    return base[key];
  }
  throw new HclExprError(`cannot index a ${typeName(base)}`);
}

/* A value as hcl2json gives it (strings may hold "${...}"), evaluated. */
function evalValue(value, scope) {
  if (typeof value === 'string') return evalNode({ n: 'tpl', parts: templateParts(value, true) }, scope);
  if (Array.isArray(value)) return value.map((v) => evalValue(v, scope));
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) if (k !== '__file') out[k] = evalValue(v, scope);
    return out;
  }
  return value;
}

/* A scope over a module (lib/hcl.js loadModule): vars are the given
 * values over the variables' defaults; locals are evaluated when used. */
function moduleScope(mod, vars, each) {
  const allVars = {};
  for (const [n, v] of Object.entries(mod.variables)) if (Object.prototype.hasOwnProperty.call(v, 'default')) allVars[n] = v.default;
  Object.assign(allVars, vars || {});
  const cache = new Map();
  const scope = { vars: allVars, bound: {}, each: each || null };
  scope.locals = {
    __lazy: true,
    get(name) {
      if (!(name in mod.locals)) throw new HclExprError(`local.${name} is not defined`);
      if (cache.get(name) === undefined) {
        cache.set(name, null); // a cycle reads null and fails
        cache.set(name, evalValue(mod.locals[name], Object.assign({}, scope, { bound: {}, each: null })));
      }
      if (cache.get(name) === null && mod.locals[name] !== null) throw new HclExprError(`local.${name} refers to itself`);
      return cache.get(name);
    },
  };
  return scope;
}

/* Variable validations: [{condition: bool, error_message}] for a value. */
function validate(mod, name, value) {
  const decl = mod.variables[name];
  if (!decl) throw new HclExprError(`var.${name} is not declared`);
  const scope = moduleScope(mod, { [name]: value });
  const vals = Array.isArray(decl.validation) ? decl.validation : decl.validation ? [decl.validation] : [];
  return vals.map((v) => ({ ok: bool(evalValue(v.condition, scope), 'a validation condition'), message: v.error_message }));
}

module.exports = { HclExprError, parse, evalValue, moduleScope, validate };
