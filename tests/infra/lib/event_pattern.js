'use strict';
/* event_pattern.js - EventBridge event pattern matching, per the
 * EventBridge user guide ("Creating event patterns", "Content filtering").
 *
 * Rules implemented:
 *   - every field named in the pattern must match (AND); a pattern field
 *     that is an object descends into the event's object;
 *   - a leaf is an array of conditions, any of which may match (OR);
 *   - event arrays are flattened: a leaf path collects the values of every
 *     array element at every level, and matches if any collected value
 *     matches (so two fields of one pattern may be satisfied by different
 *     array elements, as in EventBridge);
 *   - a condition is a literal (string, number, boolean, null: exact,
 *     type-sensitive; numbers compare by value) or one object:
 *       {"prefix": s} | {"prefix": {"equals-ignore-case": s}}
 *       {"suffix": s} | {"suffix": {"equals-ignore-case": s}}
 *       {"equals-ignore-case": s}
 *       {"wildcard": "a*b"}
 *       {"anything-but": v | [v...] | {"prefix": s} | {"suffix": s} |
 *                        {"equals-ignore-case": s | [s...]} | {"wildcard": w}}
 *       {"numeric": [op, n, (op, n)]} with op in = < <= > >=
 *       {"exists": true|false}      (leaf values only; null counts as present)
 *       {"cidr": "10.0.0.0/24"}      (IPv4)
 *   - "$or": [pattern, ...] at any object level.
 * A field absent from the event matches only {"exists": false}; in
 * particular anything-but does not match an absent field.
 *
 * Anything else (a scalar leaf, an unknown operator, an empty array) throws
 * PatternError: EventBridge would reject the pattern.
 */

class PatternError extends Error {}

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/* Values at key under every node of nodes, flattening arrays. */
function descend(nodes, key) {
  const out = [];
  for (const n of nodes) {
    for (const x of flat(n)) {
      if (isObj(x) && Object.prototype.hasOwnProperty.call(x, key)) out.push(x[key]);
    }
  }
  return out;
}

function flat(v) {
  if (!Array.isArray(v)) return [v];
  const out = [];
  for (const x of v) out.push(...flat(x));
  return out;
}

function matches(pattern, event) {
  if (!isObj(pattern)) throw new PatternError('a pattern must be a JSON object');
  if (Object.keys(pattern).length === 0) throw new PatternError('empty pattern');
  return matchObject(pattern, [event], '');
}

function matchObject(pattern, nodes, where) {
  for (const [key, sub] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!Array.isArray(sub) || sub.length < 2) throw new PatternError(`${where}$or needs an array of at least two patterns`);
      if (!sub.some((p) => {
        if (!isObj(p)) throw new PatternError(`${where}$or: each alternative must be an object`);
        return matchObject(p, nodes, where);
      })) return false;
      continue;
    }
    const children = descend(nodes, key);
    const here = where ? `${where}.${key}` : key;
    if (isObj(sub)) {
      if (!matchObject(sub, children, here)) return false;
    } else if (Array.isArray(sub)) {
      if (!matchLeaf(sub, children, here)) return false;
    } else {
      throw new PatternError(`${here}: leaf values must be arrays, got ${JSON.stringify(sub)}`);
    }
  }
  return true;
}

function matchLeaf(conds, children, where) {
  if (conds.length === 0) throw new PatternError(`${where}: empty array of conditions`);
  // Leaf values: scalars (objects are not leaves; arrays flatten).
  const values = [];
  for (const c of children) for (const v of flat(c)) if (!isObj(v)) values.push(v);
  return conds.some((cond) => matchCondition(cond, values, where));
}

function matchCondition(cond, values, where) {
  if (!isObj(cond)) return values.some((v) => literalEquals(cond, v));
  const keys = Object.keys(cond);
  if (keys.length !== 1) throw new PatternError(`${where}: a condition object takes exactly one operator, got ${keys.join(', ')}`);
  const op = keys[0];
  const arg = cond[op];
  switch (op) {
    case 'exists':
      if (typeof arg !== 'boolean') throw new PatternError(`${where}: exists takes true or false`);
      return arg ? values.length > 0 : values.length === 0;
    case 'prefix':
      return values.some((v) => typeof v === 'string' && affix(arg, v, where, 'prefix'));
    case 'suffix':
      return values.some((v) => typeof v === 'string' && affix(arg, v, where, 'suffix'));
    case 'equals-ignore-case':
      if (typeof arg !== 'string') throw new PatternError(`${where}: equals-ignore-case takes a string`);
      return values.some((v) => typeof v === 'string' && v.toLowerCase() === arg.toLowerCase());
    case 'wildcard':
      return values.some((v) => typeof v === 'string' && wildcard(arg, where).test(v));
    case 'numeric':
      return values.some((v) => typeof v === 'number' && numeric(arg, v, where));
    case 'cidr':
      return values.some((v) => typeof v === 'string' && cidr(arg, v, where));
    case 'anything-but':
      return values.length > 0 && values.some((v) => !anythingButExcludes(arg, v, where));
    default:
      throw new PatternError(`${where}: unknown operator "${op}"`);
  }
}

function literalEquals(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  return a === b;
}

function affix(arg, v, where, kind) {
  const test = (s, x, ci) => {
    const a = ci ? s.toLowerCase() : s;
    const b = ci ? x.toLowerCase() : x;
    return kind === 'prefix' ? b.startsWith(a) : b.endsWith(a);
  };
  if (typeof arg === 'string') return test(arg, v, false);
  if (isObj(arg) && typeof arg['equals-ignore-case'] === 'string' && Object.keys(arg).length === 1) {
    return test(arg['equals-ignore-case'], v, true);
  }
  throw new PatternError(`${where}: ${kind} takes a string or {"equals-ignore-case": string}`);
}

function wildcard(w, where) {
  if (typeof w !== 'string') throw new PatternError(`${where}: wildcard takes a string`);
  if (w.includes('**')) throw new PatternError(`${where}: wildcard must not contain consecutive *`);
  const re = w.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${re}$`, 's');
}

function numeric(arg, v, where) {
  if (!Array.isArray(arg) || (arg.length !== 2 && arg.length !== 4)) {
    throw new PatternError(`${where}: numeric takes [op, n] or [op, n, op, n]`);
  }
  for (let i = 0; i < arg.length; i += 2) {
    const op = arg[i];
    const n = arg[i + 1];
    if (typeof n !== 'number') throw new PatternError(`${where}: numeric bound must be a number`);
    let ok;
    switch (op) {
      case '=': ok = v === n; break;
      case '<': ok = v < n; break;
      case '<=': ok = v <= n; break;
      case '>': ok = v > n; break;
      case '>=': ok = v >= n; break;
      default: throw new PatternError(`${where}: unknown numeric operator "${op}"`);
    }
    if (!ok) return false;
  }
  return true;
}

function ipv4(s) {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

function cidr(arg, v, where) {
  const m = typeof arg === 'string' ? /^([\d.]+)\/(\d{1,2})$/.exec(arg) : null;
  const base = m ? ipv4(m[1]) : null;
  if (base === null || Number(m[2]) > 32) throw new PatternError(`${where}: cidr takes an IPv4 CIDR block`);
  const ip = ipv4(v);
  if (ip === null) return false;
  const bits = Number(m[2]);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((ip & mask) >>> 0) === ((base & mask) >>> 0);
}

/* True when anything-but's argument excludes value v. */
function anythingButExcludes(arg, v, where) {
  if (Array.isArray(arg)) {
    if (arg.length === 0) throw new PatternError(`${where}: anything-but needs at least one value`);
    return arg.some((a) => {
      if (isObj(a)) throw new PatternError(`${where}: anything-but lists take literals only`);
      return literalEquals(a, v);
    });
  }
  if (isObj(arg)) {
    const keys = Object.keys(arg);
    if (keys.length !== 1) throw new PatternError(`${where}: anything-but takes one operator`);
    const op = keys[0];
    const a = arg[op];
    if (typeof v !== 'string') return false;
    switch (op) {
      case 'prefix': return affix(a, v, where, 'prefix');
      case 'suffix': return affix(a, v, where, 'suffix');
      case 'wildcard': return wildcard(a, where).test(v);
      case 'equals-ignore-case': {
        const list = Array.isArray(a) ? a : [a];
        return list.some((s) => typeof s === 'string' && s.toLowerCase() === v.toLowerCase());
      }
      default: throw new PatternError(`${where}: anything-but does not take "${op}"`);
    }
  }
  return literalEquals(arg, v);
}

module.exports = { matches, PatternError };
