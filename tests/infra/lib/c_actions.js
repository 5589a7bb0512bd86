'use strict';
/* c_actions.js - the AWS API actions the worker's C code calls, derived
 * from the sources.
 *
 * Every call of hl_aws_call / hl_aws_call_raw / hl_aws_prepare inside a
 * function body gives (service, operation) from its 2nd and 3rd
 * arguments. An argument is resolved when it is
 *   - &hl_svc_<name> / hl_svc_<name>, or a "StringLiteral";
 *   - a conditional `c ? A : B` (both sides resolved);
 *   - a local variable: every value assigned to it in the function;
 *   - a parameter of the enclosing function: the same argument at every
 *     call of that function (static functions: in their file only),
 *     followed up to 5 levels.
 * Anything else (a table lookup, a macro hiding the call, a function
 * pointer) is reported as unresolved, so a change that escapes this scan
 * fails the check instead of silently missing a permission.
 *
 * The service variable maps to the IAM prefix with SERVICE_PREFIX.
 */

const fs = require('fs');
const path = require('path');

const CALLS = ['hl_aws_call', 'hl_aws_call_raw', 'hl_aws_prepare'];
const SERVICE_PREFIX = {
  sfn: 'states', ssm: 'ssm', acm: 'acm', dynamodb: 'dynamodb',
  config: 'config', tagging: 'tag', secrets: 'secretsmanager',
};
const MAX_DEPTH = 5;
// Locations are reported relative to this directory (deriveActions sets it).
let base = process.cwd();

/* Comments to spaces (newlines kept), strings and chars kept. */
function stripComments(src) {
  let out = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    const d = src[i + 1];
    if (c === '/' && d === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? src.length : end + 2;
      out += src.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === '/' && d === '/') {
      let end = src.indexOf('\n', i);
      if (end < 0) end = src.length;
      out += ' '.repeat(end - i);
      i = end;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\') j++;
        if (src[j] === '\n') break;
        j++;
      }
      out += src.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/* Index of the bracket closing the one at `open` (string-aware). */
function closeOf(s, open) {
  const pairs = { '(': ')', '[': ']', '{': '}' };
  const stack = [];
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < s.length && s[j] !== c) { if (s[j] === '\\') j++; j++; }
      i = j;
      continue;
    }
    if (pairs[c]) stack.push(pairs[c]);
    else if (c === ')' || c === ']' || c === '}') {
      if (stack.pop() !== c) return -1;
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

/* Top-level comma split of an argument list text. */
function splitArgs(s) {
  const out = [];
  let depth = 0;
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < s.length && s[j] !== c) { if (s[j] === '\\') j++; j++; }
      cur += s.slice(i, j + 1);
      i = j;
      continue;
    }
    if ('([{'.includes(c)) depth++;
    if (')]}'.includes(c)) depth--;
    if (c === ',' && depth === 0) { out.push(cur.trim()); cur = ''; continue; }
    cur += c;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

function lineAt(s, idx) {
  let n = 1;
  for (let i = 0; i < idx; i++) if (s.charCodeAt(i) === 10) n++;
  return n;
}

/* Function definitions of one file: {name, params[], start, end, isStatic}. */
function functions(file, src) {
  const out = [];
  let depth = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) { if (src[j] === '\\') j++; j++; }
      i = j;
      continue;
    }
    if (c === '{') {
      if (depth === 0) {
        // A function body: the text before it ends with name(params).
        const head = src.slice(Math.max(0, i - 2000), i);
        const m = /([A-Za-z_]\w*)\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)\s*(?:__attribute__\s*\(\([^)]*\)\)\s*)?$/.exec(head);
        const end = closeOf(src, i);
        if (m && end > 0 && !/\b(struct|union|enum)\s*$/.test(head.slice(0, m.index)) &&
            !/=\s*$/.test(head.slice(0, m.index))) {
          const lineStart = head.lastIndexOf(';', m.index) + 1;
          const prefix = head.slice(lineStart, m.index);
          out.push({
            file, name: m[1], params: paramNames(m[2]), start: i, end,
            isStatic: /\bstatic\b/.test(prefix),
          });
        }
      }
      depth++;
    } else if (c === '}') {
      depth--;
    }
  }
  return out;
}

function paramNames(text) {
  if (/^\s*void\s*$/.test(text)) return [];
  return splitArgs(text).map((p) => {
    const m = /([A-Za-z_]\w*)\s*(\[[^\]]*\])?\s*$/.exec(p);
    return m ? m[1] : null;
  });
}

function scanFiles(files) {
  const units = files.map((f) => {
    const src = stripComments(fs.readFileSync(f, 'utf8'));
    return { file: f, src, funcs: functions(f, src) };
  });
  return units;
}

function enclosing(unit, idx) {
  return unit.funcs.find((fn) => idx > fn.start && idx < fn.end) || null;
}

/* Call sites of `name(` inside function bodies. */
function callSites(units, name, onlyUnit) {
  const out = [];
  const re = new RegExp(`(?<![\\w.>])${name}\\s*\\(`, 'g');
  for (const u of units) {
    if (onlyUnit && u !== onlyUnit) continue;
    let m;
    while ((m = re.exec(u.src))) {
      const fn = enclosing(u, m.index);
      if (!fn) continue;
      const open = m.index + m[0].length - 1;
      const close = closeOf(u.src, open);
      if (close < 0) continue;
      out.push({ unit: u, fn, idx: m.index, args: splitArgs(u.src.slice(open + 1, close)) });
    }
  }
  return out;
}

/* Resolves one argument expression inside fn to values without following
 * parameters: kind 'service' (service names) or 'op' (operation names).
 * Returns {values, errors, param}: param is the parameter index when expr
 * is a parameter of fn (then values is empty). */
function resolveLocal(units, unit, fn, expr, kind, depth) {
  expr = expr.trim();
  while (/^\((.*)\)$/s.test(expr) && closeOf(expr, 0) === expr.length - 1) expr = expr.slice(1, -1).trim();
  if (kind === 'service') {
    const m = /^&?\s*hl_svc_([a-z0-9_]+)$/.exec(expr);
    if (m) return { values: [m[1]], errors: [] };
  } else {
    const m = /^"([A-Za-z0-9]+)"$/.exec(expr);
    if (m) return { values: [m[1]], errors: [] };
  }
  const where = `${path.relative(base, unit.file)}:${lineAt(unit.src, fn.start)} (${fn.name})`;
  const t = ternary(expr);
  if (t) {
    const a = resolveLocal(units, unit, fn, t[0], kind, depth);
    const b = resolveLocal(units, unit, fn, t[1], kind, depth);
    if (a.param !== undefined || b.param !== undefined) {
      return { values: [], errors: [`${where}: cannot derive the ${kind} from \`${expr}\` (a parameter inside a conditional)`] };
    }
    return { values: a.values.concat(b.values), errors: a.errors.concat(b.errors) };
  }
  if (!/^[A-Za-z_]\w*$/.test(expr)) {
    return { values: [], errors: [`${where}: cannot derive the ${kind} from \`${expr}\``] };
  }
  const pi = fn.params.indexOf(expr);
  if (pi >= 0) return { values: [], errors: [], param: pi };
  if (depth >= MAX_DEPTH) {
    return { values: [], errors: [`${where}: cannot derive the ${kind} from \`${expr}\` (too many assignments)`] };
  }
  // A local variable: every value assigned to it in this function.
  const body = unit.src.slice(fn.start, fn.end);
  const re = new RegExp(`(?<![\\w.>])${expr}\\s*=(?!=)\\s*([^;]+);`, 'g');
  const res = { values: [], errors: [] };
  let m;
  let found = false;
  while ((m = re.exec(body))) {
    found = true;
    const r = resolveLocal(units, unit, fn, m[1], kind, depth + 1);
    if (r.param !== undefined) {
      res.errors.push(`${where}: cannot derive the ${kind} from \`${expr}\` (assigned from a parameter)`);
      continue;
    }
    res.values.push(...r.values);
    res.errors.push(...r.errors);
  }
  if (!found) res.errors.push(`${where}: cannot derive the ${kind} from \`${expr}\` (not a parameter, no assignment)`);
  return res;
}

/* Resolves the (service, operation) pair of one call jointly, so a wrapper
 * that passes both through yields the pairs its callers use, not every
 * service with every operation. entries: [{kind, expr}] or [{kind,
 * values}]. Returns {tuples: [[svc, op], ...], errors}. */
function resolvePair(units, unit, fn, entries, depth, trail, at) {
  const res = { tuples: [], errors: [] };
  const resolved = entries.map((e) => (e.values ? e : Object.assign({ kind: e.kind }, resolveLocal(units, unit, fn, e.expr, e.kind, 0))));
  for (const r of resolved) res.errors.push(...(r.errors || []));
  const params = resolved.filter((r) => r.param !== undefined);
  if (params.length === 0) {
    for (const a of resolved[0].values) for (const b of resolved[1].values) res.tuples.push([a, b, at]);
    return res;
  }
  const where = `${path.relative(base, unit.file)}:${lineAt(unit.src, fn.start)} (${fn.name})`;
  if (depth >= MAX_DEPTH) {
    res.errors.push(`${where}: the service/operation passes through more than ${MAX_DEPTH} functions`);
    return res;
  }
  const key = `${unit.file}:${fn.name}:${resolved.map((r) => (r.param !== undefined ? r.param : '-')).join(',')}`;
  if (trail.has(key)) return res;
  const next = new Set(trail);
  next.add(key);
  for (const s of callSites(units, fn.name, fn.isStatic ? unit : null)) {
    const sub = [];
    let ok = true;
    for (const r of resolved) {
      if (r.param === undefined) { sub.push({ kind: r.kind, values: r.values }); continue; }
      if (s.args.length <= r.param) {
        res.errors.push(`${path.relative(base, s.unit.file)}:${lineAt(s.unit.src, s.idx)}: call of ${fn.name} with too few arguments`);
        ok = false;
        break;
      }
      sub.push({ kind: r.kind, expr: s.args[r.param] });
    }
    if (!ok) continue;
    const r = resolvePair(units, s.unit, s.fn, sub, depth + 1, next,
      `${path.relative(base, s.unit.file)}:${lineAt(s.unit.src, s.idx)}`);
    res.tuples.push(...r.tuples);
    res.errors.push(...r.errors);
  }
  return res;
}

/* Splits `c ? a : b` at top level; null when expr is not a conditional. */
function ternary(expr) {
  let depth = 0;
  let q = -1;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) { if (expr[j] === '\\') j++; j++; }
      i = j;
      continue;
    }
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (depth === 0 && c === '?' && q < 0) q = i;
    else if (depth === 0 && c === ':' && q >= 0) {
      return [expr.slice(q + 1, i), expr.slice(i + 1)];
    }
  }
  return null;
}

/* {actions: Map("prefix:Op" -> ["file:line", ...]), errors: [...]} for
 * the given C files; locations relative to root (default: the cwd). */
function deriveActions(files, root) {
  base = root || process.cwd();
  const units = scanFiles(files);
  const actions = new Map();
  const errors = [];
  for (const u of units) {
    // A macro that wraps a call hides its arguments from this scan.
    const macro = new RegExp(`^\\s*#\\s*define\\b.*\\b(${CALLS.join('|')})\\b`, 'm');
    const mm = macro.exec(u.src);
    if (mm) errors.push(`${path.relative(base, u.file)}:${lineAt(u.src, mm.index)}: a macro wraps ${mm[1]}: call it directly so its service and operation can be derived`);
  }
  for (const name of CALLS) {
    for (const site of callSites(units, name, null)) {
      if (site.args.length < 3) continue;
      const where = `${path.relative(base, site.unit.file)}:${lineAt(site.unit.src, site.idx)}`;
      const pair = resolvePair(units, site.unit, site.fn,
        [{ kind: 'service', expr: site.args[1] }, { kind: 'op', expr: site.args[2] }], 0, new Set(), where);
      errors.push(...pair.errors);
      for (const [s, o, from] of pair.tuples) {
        const prefix = SERVICE_PREFIX[s];
        if (!prefix) {
          errors.push(`${where}: unknown service hl_svc_${s} (add it to SERVICE_PREFIX in tests/infra/lib/c_actions.js)`);
          continue;
        }
        const a = `${prefix}:${o}`;
        if (!actions.has(a)) actions.set(a, []);
        if (!actions.get(a).includes(from)) actions.get(a).push(from);
      }
    }
  }
  return { actions, errors: [...new Set(errors)] };
}

/* The C files of the worker binary: worker/*.c and activities/*.c. */
function workerSources(repo) {
  const out = [];
  for (const d of ['worker', 'activities']) {
    const dir = path.join(repo, d);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.c')) out.push(path.join(dir, f));
  }
  return out;
}

module.exports = { deriveActions, workerSources, SERVICE_PREFIX, stripComments };
