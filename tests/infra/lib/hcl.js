'use strict';
/* hcl.js - the Terraform configuration as data, for the checks.
 *
 * Every .tf file of a directory is parsed with @cdktf/hcl2json (one WASM
 * load per process) and merged into one module description: variables
 * (with their literal defaults), locals, resources, data sources, module
 * calls, outputs. hcl2json does not evaluate expressions: they come back
 * as "${...}" strings, which this file scans for references
 * (var.x, local.x, data.t.n, module.m, <provider>_type.name) and which
 * resolveRefs() evaluates where an expression is a plain reference to a
 * variable default or a literal local.
 */

const fs = require('fs');
const path = require('path');
const { parse } = require('@cdktf/hcl2json');

async function loadModule(dir) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.tf')).sort();
  const mod = {
    dir, files: {}, variables: {}, locals: {}, localFile: {}, resources: {}, data: {},
    modules: {}, outputs: {}, terraform: [], providers: {},
  };
  for (const f of files) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    let j;
    try {
      j = await parse(f, text);
    } catch (e) {
      throw new Error(`${path.join(dir, f)}: HCL syntax error: ${e.message || e}`);
    }
    mod.files[f] = { text, json: j };
    for (const [name, blocks] of Object.entries(j.variable || {})) add(mod.variables, name, blocks[0], f, 'variable');
    for (const block of j.locals || []) {
      for (const [k, v] of Object.entries(block)) {
        if (k in mod.locals) throw new Error(`${f}: local.${k} defined twice`);
        mod.locals[k] = v;
        mod.localFile[k] = f;
      }
    }
    for (const [type, byName] of Object.entries(j.resource || {})) {
      for (const [name, blocks] of Object.entries(byName)) add(mod.resources, `${type}.${name}`, blocks[0], f, 'resource');
    }
    for (const [type, byName] of Object.entries(j.data || {})) {
      for (const [name, blocks] of Object.entries(byName)) add(mod.data, `${type}.${name}`, blocks[0], f, 'data');
    }
    for (const [name, blocks] of Object.entries(j.module || {})) add(mod.modules, name, blocks[0], f, 'module');
    for (const [name, blocks] of Object.entries(j.output || {})) add(mod.outputs, name, blocks[0], f, 'output');
    for (const [name, blocks] of Object.entries(j.provider || {})) mod.providers[name] = blocks;
    if (j.terraform) mod.terraform.push(...j.terraform);
  }
  return mod;
}

function add(map, key, value, file, kind) {
  if (key in map) throw new Error(`${file}: ${kind} ${key} defined twice`);
  map[key] = Object.assign({ __file: file }, value);
}

/* Every "${...}" expression in a value (recursively), with the path to it. */
function expressions(value, where, out) {
  out = out || [];
  if (typeof value === 'string') {
    for (const e of interpolations(value)) out.push({ where, expr: e });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => expressions(v, `${where}[${i}]`, out));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k !== '__file') expressions(v, `${where}.${k}`, out);
    }
  }
  return out;
}

/* The ${...} segments of a string, nesting- and quote-aware; "$${" is a
 * literal. */
function interpolations(s) {
  const out = [];
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('$${', i)) { i += 3; continue; }
    if (s.startsWith('${', i)) {
      const end = matchBrace(s, i + 1);
      out.push(s.slice(i + 2, end));
      i = end + 1;
      continue;
    }
    i++;
  }
  return out;
}

function matchBrace(s, open) {
  let depth = 0;
  let inStr = false;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (inStr) {
      if (c === '\\') { i++; continue; }
      if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') inStr = true;
    else if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  throw new Error(`unbalanced braces in expression: ${s.slice(open - 1, open + 60)}`);
}

/* References made by an expression text. providerPrefixes: resource type
 * prefixes that count as resources (e.g. ["aws"]). */
function references(expr, providerPrefixes) {
  const refs = { var: new Set(), local: new Set(), data: new Set(), module: new Set(), resource: new Set() };
  let text = expr;
  text = text.replace(/\bdata\.([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)/g, (m, t, n) => { refs.data.add(`${t}.${n}`); return ' '; });
  text = text.replace(/\bvar\.([A-Za-z_][\w-]*)/g, (m, n) => { refs.var.add(n); return ' '; });
  text = text.replace(/\blocal\.([A-Za-z_][\w-]*)/g, (m, n) => { refs.local.add(n); return ' '; });
  text = text.replace(/\bmodule\.([A-Za-z_][\w-]*)/g, (m, n) => { refs.module.add(n); return ' '; });
  const re = new RegExp(`(?<![\\w.])((?:${providerPrefixes.join('|')})_[a-z0-9_]+)\\.([A-Za-z_][\\w-]*)`, 'g');
  text.replace(re, (m, t, n) => { refs.resource.add(`${t}.${n}`); return ' '; });
  return refs;
}

/* Variable defaults as plain values (variables without a default are
 * absent). */
function variableDefaults(mod) {
  const out = {};
  for (const [name, v] of Object.entries(mod.variables)) {
    if (Object.prototype.hasOwnProperty.call(v, 'default')) out[name] = v.default;
  }
  return out;
}

/* Replaces "${var.x}" / "${local.y}" strings (the whole string) by the
 * variable's default or the local's literal value; leaves other
 * expressions as they are. Used on literal structures such as the event
 * patterns. */
function resolveRefs(value, mod, defaults, depth) {
  depth = depth || 0;
  if (depth > 10) throw new Error('resolveRefs: reference cycle');
  if (typeof value === 'string') {
    const m = /^\$\{(var|local)\.([A-Za-z_][\w-]*)\}$/.exec(value);
    if (!m) return value;
    if (m[1] === 'var') {
      if (!(m[2] in defaults)) throw new Error(`var.${m[2]} has no default to evaluate with`);
      return defaults[m[2]];
    }
    if (!(m[2] in mod.locals)) throw new Error(`local.${m[2]} is not defined`);
    return resolveRefs(mod.locals[m[2]], mod, defaults, depth + 1);
  }
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, mod, defaults, depth));
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveRefs(v, mod, defaults, depth);
    return out;
  }
  return value;
}

/* Blocks as lists: hcl2json gives nested blocks as arrays of objects. */
function blocks(value) {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/* All .tf module directories under root (root itself included). */
function moduleDirs(root) {
  const out = [];
  (function walk(d) {
    const entries = fs.readdirSync(d, { withFileTypes: true });
    if (entries.some((e) => e.isFile() && e.name.endsWith('.tf'))) out.push(d);
    for (const e of entries) {
      if (e.isDirectory() && !e.name.startsWith('.')) walk(path.join(d, e.name));
    }
  })(root);
  return out.sort();
}

module.exports = { loadModule, expressions, interpolations, references, variableDefaults, resolveRefs, blocks, moduleDirs };
