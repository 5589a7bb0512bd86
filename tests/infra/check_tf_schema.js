'use strict';
/* check_tf_schema.js - every resource, data and provider block of
 * terraform/ (the module and its examples) against the AWS provider's
 * schema, so the first `terraform apply` does not fail on a misspelt
 * argument, a missing required one, or a block written where an argument
 * belongs (or the reverse). No provider binary can be downloaded here, so
 * `terraform validate` cannot run; the schema is the committed
 * terraform/.schema/aws-provider-schema.json, extracted from
 * @cdktf/provider-aws by scripts/tf-schema/extract.js (`make tf-schema`,
 * the only step that downloads anything).
 *
 * hcl2json turns blocks and list-of-object arguments into the same JSON and
 * drops line numbers, so each file is also read by a small structural
 * scanner (scanBody below: attributes, blocks, labels, lines; expressions
 * are skipped, not evaluated). The two must agree on every name and block
 * count, or the check fails: the scanner cannot silently miss anything.
 *
 * Rules, each reported as `file:line: address: what is wrong`:
 *   - the type is in the schema (else: run `make tf-schema`);
 *   - every argument and block name exists at its nesting level (with a
 *     "did you mean" for near misses); arguments are written `name = ...`,
 *     blocks `name { ... }` (or `dynamic "name"`);
 *   - required arguments and blocks are present; a `dynamic` block counts;
 *     a literal null does not;
 *   - at most one block where the provider allows one;
 *   - literal values fit the argument's type (a list for a string, ...);
 *   - meta-arguments: count/for_each (not both), provider, depends_on,
 *     lifecycle (its own arguments and pre/postconditions);
 *   - references to a resource or data source attribute name one it has;
 *   - versions.tf pins the AWS provider to the schema's major version.
 * With a terraform binary installed, `terraform console` also renders the
 * EventBridge patterns exactly as Terraform will, and they must equal what
 * check_events.js reads and start what the fixtures expect (the issue's
 * "render as Terraform will" for the patterns; check_terraform.js does
 * the state machine template).
 */

const fs = require('fs');
const path = require('path');
const hcl = require('./lib/hcl');
const template = require('./lib/template');

const TF_ROOT = path.join(template.REPO, 'terraform');
const SCHEMA_FILE = path.join(TF_ROOT, '.schema', 'aws-provider-schema.json');
const REGENERATE = 'run `make tf-schema` to regenerate terraform/.schema/aws-provider-schema.json';

function rel(p) { return path.relative(template.REPO, p); }

/* ---- a structural HCL scanner ----------------------------------------------
 * Body := { Attribute | Block }. An attribute is `name = expression`, the
 * expression ending at a newline outside brackets (or at the `}` of a
 * one-line block); a block is `type label* { body }`. Strings (with ${...}
 * and %{...} templates), heredocs and comments are skipped as wholes. */

class ScanError extends Error {}

function scanBody(text) {
  let i = 0;
  let line = 1;
  const peek = (k) => text[i + (k || 0)];
  const fail = (msg) => { throw new ScanError(`line ${line}: ${msg}`); };

  function skipSpace(newlines) {
    for (;;) {
      const c = peek();
      if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
      if (c === '\n' && newlines) { i++; line++; continue; }
      if (c === '#' || (c === '/' && peek(1) === '/')) {
        while (i < text.length && peek() !== '\n') i++;
        continue;
      }
      if (c === '/' && peek(1) === '*') {
        const end = text.indexOf('*/', i + 2);
        if (end < 0) fail('unterminated comment');
        for (let k = i; k < end; k++) if (text[k] === '\n') line++;
        i = end + 2;
        continue;
      }
      return;
    }
  }

  function skipTemplate() { // after "${" or "%{"
    let depth = 1;
    while (i < text.length) {
      const c = peek();
      if (c === '"') { i++; skipString(); continue; }
      if (c === '\n') line++;
      if (c === '{') depth++;
      if (c === '}' && --depth === 0) { i++; return; }
      i++;
    }
    fail('unterminated template expression');
  }

  function skipString() { // after the opening quote
    while (i < text.length) {
      const c = peek();
      if (c === '\\') { i += 2; continue; }
      if (c === '"') { i++; return; }
      if ((c === '$' || c === '%') && peek(1) === c && peek(2) === '{') { i += 3; continue; }
      if ((c === '$' || c === '%') && peek(1) === '{') { i += 2; skipTemplate(); continue; }
      if (c === '\n') line++;
      i++;
    }
    fail('unterminated string');
  }

  function skipHeredoc() { // at "<<"
    const m = /^<<-?([A-Za-z_][\w-]*)[ \t]*\r?\n/.exec(text.slice(i, i + 200));
    if (!m) fail('malformed heredoc');
    i += m[0].length;
    line++;
    for (;;) {
      const nl = text.indexOf('\n', i);
      const cur = text.slice(i, nl < 0 ? text.length : nl);
      if (cur.trim() === m[1]) { i += cur.length; return; }
      if (nl < 0) fail(`heredoc ${m[1]} not closed`);
      i = nl + 1;
      line++;
    }
  }

  function skipExpression() {
    let depth = 0;
    while (i < text.length) {
      const c = peek();
      if (c === '"') { i++; skipString(); continue; }
      if (c === '<' && peek(1) === '<' && /[-A-Za-z_]/.test(peek(2) || '')) { skipHeredoc(); continue; }
      if (c === '#' || (c === '/' && (peek(1) === '/' || peek(1) === '*'))) { skipSpace(false); continue; }
      if (c === '\n') {
        if (depth === 0) return;
        line++;
        i++;
        continue;
      }
      if (c === '(' || c === '[' || c === '{') depth++;
      else if (c === ')' || c === ']' || c === '}') {
        if (depth === 0) {
          if (c === '}') return; // end of a one-line block
          fail(`unbalanced ${c}`);
        }
        depth--;
      }
      i++;
    }
  }

  function body(closed) {
    const items = [];
    for (;;) {
      skipSpace(true);
      if (i >= text.length) {
        if (closed) fail('unexpected end of file: a block is not closed');
        return items;
      }
      if (peek() === '}') {
        if (!closed) fail('unexpected }');
        i++;
        return items;
      }
      const m = /^[A-Za-z_][\w-]*/.exec(text.slice(i, i + 200));
      if (!m) fail(`unexpected ${JSON.stringify(peek())}`);
      const name = m[0];
      const at = line;
      i += name.length;
      skipSpace(false);
      if (peek() === '=' && peek(1) !== '=') {
        i++;
        skipSpace(false);
        skipExpression();
        items.push({ kind: 'attribute', name, line: at });
        continue;
      }
      const labels = [];
      for (;;) {
        if (peek() === '"') {
          const end = text.indexOf('"', i + 1);
          if (end < 0) fail('unterminated label');
          labels.push(text.slice(i + 1, end));
          i = end + 1;
        } else {
          const l = /^[A-Za-z_][\w-]*/.exec(text.slice(i, i + 200));
          if (!l) break;
          labels.push(l[0]);
          i += l[0].length;
        }
        skipSpace(false);
      }
      if (peek() !== '{') fail(`${name}: expected "=" or "{"`);
      i++;
      items.push({ kind: 'block', name, labels, line: at, body: body(true), endLine: line });
    }
  }

  return body(false);
}

/* ---- the scanner against hcl2json ------------------------------------------ */

/* Blocks of a scanned body grouped as hcl2json groups them; returns a list
 * of disagreements. */
function agree(items, json, where, out) {
  const keys = Object.keys(json || {}).filter((k) => k !== '__file');
  const names = new Set(items.map((it) => it.name));
  for (const k of keys) if (!names.has(k)) out.push(`${where}: hcl2json has ${k}, the scanner not`);
  for (const n of names) if (!keys.includes(n)) out.push(`${where}: the scanner has ${n}, hcl2json not`);
  for (const n of names) {
    const its = items.filter((it) => it.name === n);
    if (its.some((it) => it.kind === 'attribute')) {
      if (its.length > 1) out.push(`${where}: ${n} set twice`);
      continue;
    }
    let js = json[n];
    // Labelled blocks nest by label: {label: [bodies]}.
    const groups = new Map();
    for (const it of its) {
      const key = it.labels.join('\u0000');
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(it);
    }
    for (const [key, group] of groups) {
      let arr = js;
      for (const l of key ? key.split('\u0000') : []) arr = arr && !Array.isArray(arr) ? arr[l] : undefined;
      if (!Array.isArray(arr) || arr.length !== group.length) {
        out.push(`${where}: ${n}${key ? ` "${key}"` : ''}: the scanner sees ${group.length} block(s), hcl2json ${Array.isArray(arr) ? arr.length : 'none'}`);
        continue;
      }
      group.forEach((it, idx) => { it.json = arr[idx]; agree(it.body, arr[idx], `${where}.${n}`, out); });
    }
  }
  for (const it of items) if (it.kind === 'attribute') it.value = json ? json[it.name] : undefined;
  return out;
}

/* ---- checking a body against a schema block -------------------------------- */

const LIFECYCLE = {
  resource: {
    attributes: { create_before_destroy: { type: 'bool' }, prevent_destroy: { type: 'bool' }, ignore_changes: { type: 'any' }, replace_triggered_by: { type: 'any' } },
    blocks: {},
  },
  data: { attributes: {}, blocks: {} },
};
const CONDITION = { nesting: 'list', attributes: { condition: { type: 'bool', required: true }, error_message: { type: 'string', required: true } }, blocks: {} };
for (const k of ['resource', 'data']) Object.assign(LIFECYCLE[k].blocks, { precondition: CONDITION, postcondition: CONDITION });

const META_ATTRIBUTES = {
  resource: ['count', 'for_each', 'provider', 'depends_on'],
  data: ['count', 'for_each', 'provider', 'depends_on'],
  provider: ['version'],
};

function distance(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, k) => [k]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let x = 1; x <= a.length; x++) {
    for (let y = 1; y <= b.length; y++) {
      d[x][y] = Math.min(d[x - 1][y] + 1, d[x][y - 1] + 1, d[x - 1][y - 1] + (a[x - 1] === b[y - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

function suggest(name, candidates) {
  let best = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(name, c);
    if (d < bestD) { best = c; bestD = d; }
  }
  return best && bestD <= Math.max(2, Math.floor(name.length / 4)) ? ` (did you mean "${best}"?)` : '';
}

function isExpression(v) {
  return typeof v === 'string' && v.includes('${');
}

/* Why a literal value cannot be of the schema type, or null. Expressions
 * and null are not judged (Terraform decides those at plan time). */
function typeMismatch(type, v) {
  if (v === null || v === undefined || isExpression(v) || type === 'any') return null;
  const kind = Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
  const m = /^(list|set|map)\((.*)\)$/.exec(type);
  if (type === 'string') return typeof v === 'object' ? `is ${kind}, must be a string` : null;
  if (type === 'number') {
    if (typeof v === 'number') return null;
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return null;
    return `is ${typeof v === 'string' ? `"${v}"` : kind}, must be a number`;
  }
  if (type === 'bool') {
    if (typeof v === 'boolean' || v === 'true' || v === 'false') return null;
    return `is ${typeof v === 'string' ? `"${v}"` : kind}, must be true or false`;
  }
  if (m && (m[1] === 'list' || m[1] === 'set')) {
    if (!Array.isArray(v)) return `is ${kind}, must be a ${m[1]} of ${m[2]}`;
    for (const e of v) {
      const why = typeMismatch(m[2], e);
      if (why) return `has an element that ${why}`;
    }
    return null;
  }
  if (m && m[1] === 'map') {
    if (Array.isArray(v) || typeof v !== 'object') return `is ${kind}, must be a map of ${m[2]}`;
    for (const e of Object.values(v)) {
      const why = typeMismatch(m[2], e);
      if (why) return `has a value that ${why}`;
    }
  }
  return null;
}

/* Checks items (a scanned body) against a schema block. meta: 'resource',
 * 'data', 'provider' at the top of a resource/data/provider block, else
 * null. report(line, message). */
function checkBody(items, schema, pathPrefix, meta, report, headerLine) {
  const attrs = schema.attributes || {};
  const blocks = schema.blocks || {};
  const candidates = [...Object.keys(attrs), ...Object.keys(blocks), ...(META_ATTRIBUTES[meta] || []), ...(meta === 'resource' || meta === 'data' ? ['lifecycle'] : [])];
  const present = new Set();
  const blockCount = new Map();
  const where = (n) => `${pathPrefix}${n}`;
  for (const it of items) {
    const n = it.name;
    if (it.kind === 'attribute') {
      if ((META_ATTRIBUTES[meta] || []).includes(n) && !(n in attrs && meta === 'provider')) {
        present.add(`meta:${n}`);
        continue;
      }
      if (n in attrs) {
        present.add(n);
        if (attrs[n].required && it.value === null) report(it.line, `${where(n)} is required; null leaves it unset`);
        const why = typeMismatch(attrs[n].type, it.value);
        if (why) report(it.line, `${where(n)} ${why} (${attrs[n].type})`);
      } else if (n in blocks) {
        report(it.line, `${where(n)} is a block, not an argument: write \`${n} { ... }\` (or dynamic "${n}")`);
        present.add(n);
      } else {
        report(it.line, `unknown argument ${where(n)}${suggest(n, candidates)}`);
      }
      continue;
    }
    // Blocks.
    if (n === 'lifecycle' && (meta === 'resource' || meta === 'data')) {
      if (it.labels.length) report(it.line, 'lifecycle takes no labels');
      checkBody(it.body, LIFECYCLE[meta], 'lifecycle.', null, report, it.line);
      continue;
    }
    if ((n === 'provisioner' || n === 'connection') && meta === 'resource') continue;
    if (n === 'dynamic') {
      const label = it.labels[0];
      if (it.labels.length !== 1) { report(it.line, 'dynamic needs exactly one label (the block type)'); continue; }
      if (label in attrs) { report(it.line, `${where(label)} is an argument, not a block: dynamic "${label}" cannot generate it (write \`${label} = [for ...]\`)`); continue; }
      if (!(label in blocks)) { report(it.line, `unknown block dynamic "${where(label)}"${suggest(label, Object.keys(blocks))}`); continue; }
      const dynAttrs = it.body.filter((x) => x.kind === 'attribute').map((x) => x.name);
      const contents = it.body.filter((x) => x.kind === 'block' && x.name === 'content');
      if (!dynAttrs.includes('for_each')) report(it.line, `dynamic "${where(label)}": missing for_each`);
      for (const x of it.body) {
        if (x.kind === 'attribute' && !['for_each', 'iterator', 'labels'].includes(x.name)) report(x.line, `dynamic "${where(label)}": unknown argument ${x.name}`);
        if (x.kind === 'block' && x.name !== 'content') report(x.line, `dynamic "${where(label)}": unknown block ${x.name}`);
      }
      if (contents.length !== 1) { report(it.line, `dynamic "${where(label)}": needs exactly one content block`); continue; }
      present.add(label);
      blockCount.set(label, Infinity); // how many it makes is known at plan time
      checkBody(contents[0].body, blocks[label], `${where(label)}.`, null, report, contents[0].line);
      continue;
    }
    if (n in blocks) {
      present.add(n);
      blockCount.set(n, (blockCount.get(n) || 0) + 1);
      if (it.labels.length) report(it.line, `${where(n)} takes no labels`);
      if (blocks[n].max_items === 1 && blockCount.get(n) === 2) report(it.line, `${where(n)}: at most one ${n} block is allowed`);
      checkBody(it.body, blocks[n], `${where(n)}.`, null, report, it.line);
    } else if (n in attrs) {
      report(it.line, `${where(n)} is an argument, not a block: write \`${n} = ...\``);
      present.add(n);
    } else {
      report(it.line, `unknown block ${where(n)}${suggest(n, candidates)}`);
    }
  }
  if (present.has('meta:count') && present.has('meta:for_each')) report(headerLine, 'count and for_each cannot both be set');
  for (const [n, a] of Object.entries(attrs)) if (a.required && !present.has(n)) report(headerLine, `missing required argument ${where(n)}`);
  for (const [n, b] of Object.entries(blocks)) if (b.required && !present.has(n)) report(headerLine, `missing required block ${where(n)}`);
}

/* ---- the schema file ------------------------------------------------------- */

function loadSchema() {
  if (!fs.existsSync(SCHEMA_FILE)) throw new Error(`${rel(SCHEMA_FILE)} is missing: ${REGENERATE}`);
  const s = JSON.parse(fs.readFileSync(SCHEMA_FILE, 'utf8'));
  const src = s.source || {};
  if (src.package !== '@cdktf/provider-aws' || !/^21\./.test(src.version || '') || !/^6\.\d+\.\d+$/.test(src.provider_version || '')) {
    throw new Error(`${rel(SCHEMA_FILE)}: source must be @cdktf/provider-aws 21.x for AWS provider 6.x, is ${JSON.stringify(src)}: ${REGENERATE}`);
  }
  for (const k of ['provider', 'resource', 'data']) if (!s[k] || typeof s[k] !== 'object') throw new Error(`${rel(SCHEMA_FILE)}: no "${k}" section: ${REGENERATE}`);
  return s;
}

/* Every top-level block of every .tf file under terraform/, scanned and
 * cross-checked with hcl2json: [{dir, file, rel, items, mod}]. */
async function scannedFiles(ctx, root) {
  const out = [];
  const problems = [];
  for (const d of hcl.moduleDirs(root || TF_ROOT)) {
    const mod = await ctx.module(path.relative(template.REPO, d));
    for (const [f, { text, json }] of Object.entries(mod.files)) {
      const r = rel(path.join(d, f));
      let items;
      try {
        items = scanBody(text);
      } catch (e) {
        if (!(e instanceof ScanError)) throw e;
        problems.push(`${r}: the structural scanner cannot read this file (${e.message}); hcl2json can: fix tests/infra/check_tf_schema.js`);
        continue;
      }
      for (const dis of agree(items, json, r, [])) problems.push(`${dis} (scanner and hcl2json disagree: fix tests/infra/check_tf_schema.js)`);
      out.push({ dir: d, file: f, rel: r, items, mod });
    }
  }
  return { files: out, problems };
}

const KINDS = { resource: 'resource', data: 'data' };

function address(kind, type, name) {
  return kind === 'data' ? `data.${type}.${name}` : kind === 'provider' ? `provider.${type}` : `${type}.${name}`;
}

/* The resource / data / provider blocks of a scanned file. */
function* topBlocks(f) {
  for (const it of f.items) {
    if (it.kind !== 'block') continue;
    if (KINDS[it.name] && it.labels.length === 2) yield { kind: it.name, type: it.labels[0], name: it.labels[1], it };
    if (it.name === 'provider' && it.labels.length === 1) yield { kind: 'provider', type: it.labels[0], name: null, it };
  }
}

/* Errors of one scanned file against the schema. */
function checkFile(f, schema) {
  const errors = [];
  for (const { kind, type, name, it } of topBlocks(f)) {
    const addr = address(kind, type, name);
    const report = (line, msg) => errors.push(`${f.rel}:${line}: ${addr}: ${msg}`);
    const s = schema[kind][type];
    if (!s) {
      report(it.line, `${kind === 'provider' ? 'provider' : kind === 'data' ? 'data source type' : 'resource type'} ${type} is not in the committed schema (a new type, or a misspelt one?): ${REGENERATE}`);
      continue;
    }
    checkBody(it.body, s, '', kind, report, it.line);
  }
  return errors;
}

/* ---- references to attributes ---------------------------------------------- */

function lineOfText(text, needle) {
  const k = text.indexOf(needle);
  return k < 0 ? 1 : text.slice(0, k).split('\n').length;
}

function checkReferences(f, schema) {
  const errors = [];
  const { mod } = f;
  const { text, json } = mod.files[f.file];
  const re = /(?<![\w.])(data\.)?(aws_[a-z0-9_]+)\.([A-Za-z_][\w-]*)(\[[^\]]*\])?\.([A-Za-z_][\w]*)/g;
  const seen = new Set();
  for (const { expr } of hcl.expressions(json, f.file)) {
    for (const m of expr.matchAll(re)) {
      const [whole, data, type, name, index, attr] = m;
      const kind = data ? 'data' : 'resource';
      const decl = (kind === 'data' ? mod.data : mod.resources)[`${type}.${name}`];
      if (!decl) continue; // terraform_references_exist reports it
      const s = schema[kind][type];
      if (!s || seen.has(whole)) continue;
      seen.add(whole);
      const addr = address(kind, type, name);
      const line = lineOfText(text, whole);
      const known = new Set([...Object.keys(s.attributes), ...Object.keys(s.blocks), ...(s.computed || [])]);
      if (!known.has(attr)) errors.push(`${f.rel}:${line}: ${addr}: has no attribute "${attr}"${suggest(attr, known)} (in ${whole})`);
      const repeated = decl.count !== undefined || decl.for_each !== undefined;
      if (repeated && !index) errors.push(`${f.rel}:${line}: ${addr}: uses ${decl.count !== undefined ? 'count' : 'for_each'}, so ${whole} needs an instance key (${addr}[...].${attr})`);
      if (!repeated && index) errors.push(`${f.rel}:${line}: ${addr}: has no count or for_each, so ${whole} cannot be indexed`);
    }
  }
  return errors;
}

/* ---- the provider version constraint ---------------------------------------- */

function parseVersion(s) {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(s.trim());
  if (!m) return null;
  return { parts: [Number(m[1]), Number(m[2] || 0), Number(m[3] || 0)], given: [m[1], m[2], m[3]].filter((x) => x !== undefined).length };
}

function cmp(a, b) {
  for (let k = 0; k < 3; k++) if (a[k] !== b[k]) return a[k] - b[k];
  return 0;
}

/* The versions a constraint string admits, as an interval
 * {lo, loIncl, hi, hiIncl} (hi null: no upper bound); != is ignored. */
function constraintRange(str) {
  const r = { lo: [0, 0, 0], loIncl: true, hi: null, hiIncl: false };
  const raise = (v, incl) => { const c = cmp(v, r.lo); if (c > 0 || (c === 0 && !incl)) { r.lo = v; r.loIncl = incl; } };
  const lower = (v, incl) => { const c = r.hi ? cmp(v, r.hi) : -1; if (c < 0 || (c === 0 && !incl)) { r.hi = v; r.hiIncl = incl; } };
  for (const part of str.split(',')) {
    const m = /^\s*(>=|<=|~>|!=|=|>|<)?\s*(\S+)\s*$/.exec(part);
    const v = m && parseVersion(m[2]);
    if (!v) throw new Error(`cannot read version constraint "${part.trim()}"`);
    const op = m[1] || '=';
    if (op === '>=') raise(v.parts, true);
    else if (op === '>') raise(v.parts, false);
    else if (op === '<') lower(v.parts, false);
    else if (op === '<=') lower(v.parts, true);
    else if (op === '=') { raise(v.parts, true); lower(v.parts, true); } else if (op === '~>') {
      raise(v.parts, true);
      const up = v.given <= 2 ? [v.parts[0] + 1, 0, 0] : [v.parts[0], v.parts[1] + 1, 0];
      lower(up, false);
    }
  }
  return r;
}

function admits(r, v) {
  const lo = cmp(v, r.lo);
  if (lo < 0 || (lo === 0 && !r.loIncl)) return false;
  if (!r.hi) return true;
  const hi = cmp(v, r.hi);
  return hi < 0 || (hi === 0 && r.hiIncl);
}

function checkVersions(files, schema) {
  const errors = [];
  const notes = [];
  const want = schema.source.provider_version;
  const major = Number(want.split('.')[0]);
  const dirs = new Map();
  for (const f of files) {
    if (!dirs.has(f.dir)) dirs.set(f.dir, null);
    for (const tb of f.items.filter((x) => x.kind === 'block' && x.name === 'terraform')) {
      for (const rp of tb.body.filter((x) => x.kind === 'block' && x.name === 'required_providers')) {
        const aws = rp.body.find((x) => x.name === 'aws');
        if (!aws) continue;
        dirs.set(f.dir, { f, line: aws.line, value: aws.value });
      }
    }
  }
  for (const [d, found] of dirs) {
    const usesAws = files.some((f) => f.dir === d && [...topBlocks(f)].length > 0) ||
      files.some((f) => f.dir === d && f.items.some((x) => x.name === 'module'));
    if (!found) {
      if (usesAws) errors.push(`${rel(d)}: no terraform { required_providers { aws = ... } }: pin the AWS provider to "~> ${major}.0" (the schema is from ${want})`);
      continue;
    }
    const where = `${found.f.rel}:${found.line}: terraform.required_providers.aws`;
    const v = found.value || {};
    if (v.source !== 'hashicorp/aws') errors.push(`${where}: source must be "hashicorp/aws", is ${JSON.stringify(v.source)}`);
    if (typeof v.version !== 'string') { errors.push(`${where}: no version constraint: pin it to "~> ${major}.0" (the schema is from ${want})`); continue; }
    let r;
    try { r = constraintRange(v.version); } catch (e) { errors.push(`${where}: ${e.message}`); continue; }
    const wantV = parseVersion(want).parts;
    if (!admits(r, wantV)) errors.push(`${where}: version "${v.version}" excludes ${want}, the version the schema is from`);
    const loOk = cmp(r.lo, [major, 0, 0]) >= 0;
    const hiOk = r.hi && cmp(r.hi, [major + 1, 0, 0]) <= 0 && !(cmp(r.hi, [major + 1, 0, 0]) === 0 && r.hiIncl);
    if (!loOk || !hiOk) {
      errors.push(`${where}: version "${v.version}" admits versions outside ${major}.x, but the schema this is checked against is from ${want}: pin it to "~> ${major}.0"`);
    }
    notes.push(`${where}: "${v.version}"`);
  }
  return { errors, notes };
}

/* ---- self-test: the checker on small texts with known answers -------------- */

const MINI = {
  source: { package: '@cdktf/provider-aws', version: '21.0.0', provider_version: '6.0.0' },
  provider: { aws: { attributes: { region: { type: 'string' } }, blocks: { default_tags: { nesting: 'list', attributes: { tags: { type: 'map(string)' } }, blocks: {} } } } },
  resource: {
    aws_t: {
      attributes: { name: { type: 'string', required: true }, size: { type: 'number' }, tags: { type: 'map(string)' }, enabled: { type: 'bool' } },
      blocks: {
        rule: { nesting: 'list', required: true, attributes: { id: { type: 'string', required: true }, values: { type: 'list(string)' } }, blocks: {} },
        ttl: { nesting: 'list', max_items: 1, attributes: { on: { type: 'bool' } }, blocks: {} },
      },
      computed: ['arn'],
    },
  },
  data: {},
};

const CASES = [
  ['correct, with a one-line block, heredoc, comments and meta-arguments',
    'resource "aws_t" "a" {\n  count = 1 # one\n  name  = "x-${var.y}"\n  /* c */ size = 3\n  rule { id = "r" }\n  tags = {\n    a = <<EOT\nnot } a block\nEOT\n  }\n  lifecycle {\n    ignore_changes = [tags]\n    precondition {\n      condition     = true\n      error_message = "m"\n    }\n  }\n  depends_on = [aws_t.b]\n}\n', []],
  ['a misspelt argument', 'resource "aws_t" "a" {\n  nmae = "x"\n  name = "y"\n  rule { id = "r" }\n}\n',
    ['x.tf:2: aws_t.a: unknown argument nmae (did you mean "name"?)']],
  ['a missing required argument', 'resource "aws_t" "a" {\n  rule {\n    values = []\n  }\n}\n',
    ['x.tf:1: aws_t.a: missing required argument name', 'x.tf:2: aws_t.a: missing required argument rule.id']],
  ['a missing required block', 'resource "aws_t" "a" {\n  name = "x"\n}\n', ['x.tf:1: aws_t.a: missing required block rule']],
  ['a dynamic block satisfies a required block', 'resource "aws_t" "a" {\n  name = "x"\n  dynamic "rule" {\n    for_each = var.r\n    content {\n      id = rule.value\n    }\n  }\n}\n', []],
  ['a block written as an argument', 'resource "aws_t" "a" {\n  name = "x"\n  rule = [{ id = "r" }]\n}\n',
    ['x.tf:3: aws_t.a: rule is a block, not an argument: write `rule { ... }` (or dynamic "rule")']],
  ['an argument written as a block', 'resource "aws_t" "a" {\n  name = "x"\n  rule { id = "r" }\n  tags {\n    a = "b"\n  }\n}\n',
    ['x.tf:4: aws_t.a: tags is an argument, not a block: write `tags = ...`']],
  ['two blocks where one is allowed', 'resource "aws_t" "a" {\n  name = "x"\n  rule { id = "r" }\n  ttl { on = true }\n  ttl { on = false }\n}\n',
    ['x.tf:5: aws_t.a: ttl: at most one ttl block is allowed']],
  ['literal values of the wrong type', 'resource "aws_t" "a" {\n  name    = ["x"]\n  size    = "big"\n  enabled = "yes"\n  tags    = ["a"]\n  rule {\n    id     = "r"\n    values = "v"\n  }\n}\n',
    ['x.tf:2: aws_t.a: name is a list, must be a string (string)', 'x.tf:3: aws_t.a: size is "big", must be a number (number)',
      'x.tf:4: aws_t.a: enabled is "yes", must be true or false (bool)', 'x.tf:5: aws_t.a: tags is a list, must be a map of string (map(string))',
      'x.tf:8: aws_t.a: rule.values is a string, must be a list of string (list(string))']],
  ['an unknown type', 'resource "aws_u" "a" {\n  name = "x"\n}\n',
    [`x.tf:1: aws_u.a: resource type aws_u is not in the committed schema (a new type, or a misspelt one?): ${REGENERATE}`]],
  ['a misspelt nested argument and an unknown lifecycle argument', 'resource "aws_t" "a" {\n  name = "x"\n  rule {\n    idd = "r"\n    id  = "s"\n  }\n  lifecycle {\n    prevent_destroyed = true\n  }\n}\n',
    ['x.tf:4: aws_t.a: unknown argument rule.idd (did you mean "id"?)', 'x.tf:8: aws_t.a: unknown argument lifecycle.prevent_destroyed (did you mean "prevent_destroy"?)']],
  ['a dynamic block of an argument', 'resource "aws_t" "a" {\n  name = "x"\n  rule { id = "r" }\n  dynamic "tags" {\n    for_each = []\n    content {}\n  }\n}\n',
    ['x.tf:4: aws_t.a: tags is an argument, not a block: dynamic "tags" cannot generate it (write `tags = [for ...]`)']],
  ['count and for_each together', 'resource "aws_t" "a" {\n  count    = 1\n  for_each = {}\n  name     = "x"\n  rule { id = "r" }\n}\n',
    ['x.tf:1: aws_t.a: count and for_each cannot both be set']],
  ['a provider block', 'provider "aws" {\n  regoin = "x"\n  default_tags {\n    tags = {}\n  }\n}\n',
    ['x.tf:2: provider.aws: unknown argument regoin (did you mean "region"?)']],
];

const VERSION_CASES = [
  ['~> 6.0', true], ['>= 6.0.0, < 7.0.0', true], ['~> 6.25', true], ['>= 6.25.0, < 7.0.0', true],
  ['>= 5.30.0, < 7.0.0', false], ['>= 6.0', false], ['~> 6.30', false], ['~> 6.0.0', false], ['< 8.0.0, >= 6.0.0', false], ['6.25.0', true],
];

async function selfTest() {
  const { parse } = require('@cdktf/hcl2json');
  const errors = [];
  for (const [what, text, want] of CASES) {
    const items = scanBody(text);
    const dis = agree(items, await parse('x.tf', text), 'x.tf', []);
    if (dis.length) { errors.push(`${what}: ${dis.join('; ')}`); continue; }
    const got = checkFile({ rel: 'x.tf', items }, MINI);
    const missing = want.filter((w) => !got.includes(w));
    const extra = got.filter((g) => !want.includes(g));
    if (missing.length || extra.length) errors.push(`${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  }
  for (const [c, ok] of VERSION_CASES) {
    const text = `terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws", version = "${c}" }\n  }\n}\n`;
    const f = { dir: '/x', rel: 'v.tf', items: scanBody(text) };
    agree(f.items, await parse('v.tf', text), 'v.tf', []);
    const r = checkVersions([f], { source: { provider_version: '6.25.0' } });
    if ((r.errors.length === 0) !== ok) errors.push(`version "${c}": expected ${ok ? 'accepted' : 'rejected'}, got ${JSON.stringify(r.errors)}`);
  }
  return errors;
}

/* ---- the event patterns as Terraform renders them --------------------------
 * check_events.js reads local.event_patterns through hcl2json with the
 * variable defaults filled in. Here `terraform console` (no providers
 * needed) evaluates the same locals block, with the variables it uses, in a
 * scratch directory; its jsonencode() is what EventBridge receives. It must
 * equal the other reading, and start the rules the fixtures expect. */

function terraformBinary() {
  const candidates = [process.env.TERRAFORM, '/usr/local/bin/terraform', '/usr/bin/terraform'].filter(Boolean);
  return candidates.find((c) => fs.existsSync(c)) || null;
}

/* Source text of the locals blocks and variables local.<name> needs
 * (transitively). Throws when it needs something only a provider can
 * evaluate, or a variable without a default. */
function consoleConfig(files, name) {
  const localsBlocks = [];
  const variables = new Map();
  for (const f of files) {
    for (const it of f.items) {
      if (it.kind !== 'block') continue;
      if (it.name === 'locals') localsBlocks.push({ f, it });
      if (it.name === 'variable' && it.labels.length === 1) variables.set(it.labels[0], { f, it });
    }
  }
  const chosen = new Set();
  const vars = new Set();
  const want = [name];
  while (want.length) {
    const n = want.pop();
    const lb = localsBlocks.find((b) => b.it.body.some((x) => x.name === n));
    if (!lb) throw new Error(`local.${n} is not defined`);
    if (chosen.has(lb)) continue;
    chosen.add(lb);
    for (const { expr } of hcl.expressions(lb.it.json, 'locals')) {
      const r = hcl.references(expr, ['aws']);
      const foreign = [...r.data].map((x) => `data.${x}`).concat([...r.resource], [...r.module].map((x) => `module.${x}`));
      if (foreign.length) throw new Error(`${lb.f.rel}:${lb.it.line}: this locals block uses ${foreign.join(', ')}: terraform console cannot evaluate it without providers (keep the patterns in a locals block of their own)`);
      for (const v of r.var) vars.add(v);
      for (const l of r.local) want.push(l);
    }
  }
  const slice = ({ f, it }) => f.mod.files[f.file].text.split('\n').slice(it.line - 1, it.endLine).join('\n');
  const parts = [...chosen].map(slice);
  for (const v of [...vars].sort()) {
    const decl = variables.get(v);
    if (!decl) throw new Error(`var.${v} is not declared`);
    if (!Object.prototype.hasOwnProperty.call(decl.f.mod.variables[v], 'default')) throw new Error(`var.${v} has no default to render with`);
    parts.push(slice(decl));
  }
  return `${parts.join('\n\n')}\n`;
}

function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object' || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return JSON.stringify(ka) === JSON.stringify(kb) && ka.every((k) => deepEqual(a[k], b[k]));
}

async function checkConsolePatterns(ctx, tf) {
  const { matches } = require('./lib/event_pattern');
  const { FIXTURES, EXPECTED } = require('./check_events');
  const { files, problems } = await scannedFiles(ctx, TF_ROOT);
  if (problems.length) return { errors: problems };
  const moduleFiles = files.filter((f) => f.dir === TF_ROOT);
  const mod = await ctx.module('terraform');
  let config;
  try { config = consoleConfig(moduleFiles, 'event_patterns'); } catch (e) { return { errors: [e.message] }; }
  const tmp = fs.mkdtempSync(path.join(require('os').tmpdir(), 'tf-console-events-'));
  let theirs;
  try {
    fs.writeFileSync(path.join(tmp, 'main.tf'), config);
    const cfg = path.join(tmp, 'terraformrc');
    fs.writeFileSync(cfg, '');
    const env = Object.assign({}, process.env, { CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: cfg, TF_IN_AUTOMATION: '1' });
    const r = require('child_process').spawnSync(tf, ['console'], { cwd: tmp, input: 'jsonencode(local.event_patterns)\n', encoding: 'utf8', env, timeout: 60000 });
    const out = (r.stdout || '').split('\n').map((l) => l.trim()).filter((l) => l.startsWith('"')).pop();
    if (r.status !== 0 || !out) return { errors: [`terraform console failed: ${(r.stderr || r.stdout || '').trim().slice(0, 500)}`] };
    theirs = JSON.parse(JSON.parse(out).replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{'));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const errors = [];
  const ours = hcl.resolveRefs(mod.locals.event_patterns, mod, hcl.variableDefaults(mod));
  for (const rule of new Set([...Object.keys(theirs), ...Object.keys(ours)])) {
    if (!deepEqual(theirs[rule], ours[rule])) {
      errors.push(`rule ${rule}: terraform renders ${JSON.stringify(theirs[rule])}, the other checks read ${JSON.stringify(ours[rule])}`);
    }
  }
  const notes = [];
  for (const [f, want] of Object.entries(EXPECTED)) {
    const file = path.join(FIXTURES, f);
    if (!fs.existsSync(file)) continue; // event_rules_match_fixtures reports it
    const ev = JSON.parse(fs.readFileSync(file, 'utf8'));
    let hit;
    try {
      hit = Object.entries(theirs).filter(([, p]) => matches(p, ev)).map(([k]) => k);
    } catch (e) {
      errors.push(`Terraform's rendering is not a valid pattern: ${e.message}`);
      break;
    }
    if (JSON.stringify(hit) !== JSON.stringify(want ? [want] : [])) {
      errors.push(`${f}: as Terraform renders the patterns, should start ${want || 'nothing'}, starts ${hit.join(', ') || 'nothing'}`);
    } else {
      notes.push(`${f} -> ${want || '-'}`);
    }
  }
  return { errors, notes };
}

/* ---- the checks ------------------------------------------------------------- */

const checks = [
  {
    name: 'terraform_schema_checker_catches_mistakes',
    doc: 'the provider-schema checker on small configurations with known answers (misspelt, missing, wrong block kind, types, versions)',
    async run() {
      return { errors: await selfTest(), notes: [`${CASES.length} configurations, ${VERSION_CASES.length} version constraints`] };
    },
  },
  {
    name: 'terraform_schema_covers_types',
    doc: 'terraform/.schema/aws-provider-schema.json holds every resource and data-source type terraform/ uses (else: make tf-schema)',
    async run(ctx) {
      const schema = loadSchema();
      const { files, problems } = await scannedFiles(ctx);
      const errors = [...problems];
      const used = { resource: new Set(), data: new Set(), provider: new Set() };
      for (const f of files) {
        for (const { kind, type, name, it } of topBlocks(f)) {
          used[kind].add(type);
          if (!schema[kind][type]) errors.push(`${f.rel}:${it.line}: ${address(kind, type, name)}: ${kind === 'data' ? 'data source type' : kind === 'provider' ? 'provider' : 'resource type'} ${type} is not in the committed schema: ${REGENERATE}`);
        }
      }
      // The pins `make tf-schema` uses must be what the schema came from.
      const from = `${schema.source.package}@${schema.source.version}`;
      for (const [file, re] of [['Makefile', /^TF_SCHEMA_PACKAGE \?= (\S+)$/m], ['scripts/tf-schema/extract.js', /^const DEFAULT_PACKAGE = '([^']+)';$/m]]) {
        const p = path.join(template.REPO, file);
        if (!fs.existsSync(p)) continue;
        const m = re.exec(fs.readFileSync(p, 'utf8'));
        if (!m) errors.push(`${file}: no ${file === 'Makefile' ? 'TF_SCHEMA_PACKAGE' : 'DEFAULT_PACKAGE'} pin found`);
        else if (m[1] !== from) errors.push(`${file} pins ${m[1]}, the committed schema is from ${from}: ${REGENERATE}`);
      }
      const notes = [`schema from ${from} (AWS provider ${schema.source.provider_version}): ${Object.keys(schema.resource).length} resource types, ${Object.keys(schema.data).length} data sources`];
      for (const kind of ['resource', 'data']) {
        const unused = Object.keys(schema[kind]).filter((t) => !used[kind].has(t));
        if (unused.length) notes.push(`not used any more (make tf-schema drops them): ${kind} ${unused.join(', ')}`);
      }
      return { errors, notes };
    },
  },
  {
    name: 'terraform_schema_arguments',
    doc: 'every resource/data/provider block: known arguments and blocks, of the right kind, required ones present, literal types fit',
    async run(ctx) {
      const schema = loadSchema();
      const { files, problems } = await scannedFiles(ctx);
      const errors = [...problems];
      let n = 0;
      for (const f of files) {
        n += [...topBlocks(f)].length;
        // Unknown types are terraform_schema_covers_types' to report.
        for (const e of checkFile(f, schema)) if (!e.includes('is not in the committed schema')) errors.push(e);
      }
      return { errors, notes: [`${n} blocks in ${files.length} files`] };
    },
  },
  {
    name: 'terraform_schema_references',
    doc: 'references to resource/data attributes name attributes the type exports, indexed exactly when it has count/for_each',
    async run(ctx) {
      const schema = loadSchema();
      const { files, problems } = await scannedFiles(ctx);
      const errors = [...problems];
      for (const f of files) errors.push(...checkReferences(f, schema));
      return { errors };
    },
  },
  {
    name: 'terraform_provider_version',
    doc: 'versions.tf pins hashicorp/aws to the major version the committed schema comes from',
    async run(ctx) {
      const schema = loadSchema();
      const { files, problems } = await scannedFiles(ctx);
      const r = checkVersions(files, schema);
      return { errors: [...problems, ...r.errors], notes: r.notes };
    },
  },
  {
    name: 'terraform_console_renders_event_patterns',
    doc: 'terraform console renders local.event_patterns as the other checks read it, and it starts what the fixtures expect (needs a terraform binary)',
    async run(ctx) {
      const tf = terraformBinary();
      if (!tf) return { skipped: 'no terraform binary installed' };
      return checkConsolePatterns(ctx, tf);
    },
  },
];

module.exports = { checks, scanBody, agree, checkBody, checkFile, constraintRange, typeMismatch, SCHEMA_FILE, scannedFiles, consoleConfig, terraformBinary };
