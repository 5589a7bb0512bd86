#!/usr/bin/env node
'use strict';
/* taskdef.js - the worker's ECS container definition as data, for
 * scripts/image/imagespec.py (which compares it with the Dockerfile).
 *
 *   node scripts/image/taskdef.js [TERRAFORM_DIR]    (default: terraform/)
 *   node scripts/image/taskdef.js --many DIR...
 *
 * --many reads several modules in one process (the HCL parser's WASM loads
 * once) and prints {"DIR": description or {"error": message}, ...}.
 *
 * Prints one JSON object: the container definition of
 * aws_ecs_task_definition.worker (the argument of its jsonencode(), parsed
 * with @cdktf/hcl2json through tests/infra/lib/hcl.js), its volumes, and
 * the environment and secrets as name -> value maps. hcl2json does not
 * evaluate expressions: a plain reference to a literal local or a variable
 * default is resolved; any other value stays a "${...}" string. When
 * "environment" / "secrets" is a for expression over locals (ecs.tf builds
 * them from local.worker_environment_all / local.worker_secrets), the names
 * are the keys of every literal map it reaches through local.* and var.*
 * references (merge(var.extra_environment, local.worker_environment)).
 * Exit 0 with the JSON, 1 with a message on stderr.
 */

const path = require('path');

const REPO = path.resolve(__dirname, '..', '..');
const hcl = require(path.join(REPO, 'tests', 'infra', 'lib', 'hcl'));
const { parse } = require(path.join(REPO, 'node_modules', '@cdktf', 'hcl2json'));

const RESOURCE = 'aws_ecs_task_definition.worker';

/* A value hcl2json left unevaluated (it holds a "${...}"; "$${" is a
 * literal dollar-brace). */
function isExpr(v) {
  return typeof v === 'string' && hcl.interpolations(v).length > 0;
}

/* name -> value for a container's "environment" / "secrets" member.
 * valueKey: "value" or "valueFrom". */
function namedValues(member, valueKey, mod, defaults) {
  if (member === undefined) return { names: {}, from: 'absent' };
  if (Array.isArray(member)) {
    const out = {};
    for (const e of member) out[e.name] = isExpr(e[valueKey]) ? null : e[valueKey];
    return { names: out, from: 'literal list' };
  }
  // A for expression: collect the literal maps it reaches.
  const out = {};
  const seen = new Set();
  const visit = (expr, depth) => {
    if (depth > 10) throw new Error(`${RESOURCE}: reference chain too deep`);
    const refs = hcl.references(expr, ['aws']);
    for (const name of refs.local) {
      if (seen.has(`local.${name}`)) continue;
      seen.add(`local.${name}`);
      if (!(name in mod.locals)) throw new Error(`local.${name} is not defined`);
      take(mod.locals[name], depth);
    }
    for (const name of refs.var) {
      if (seen.has(`var.${name}`)) continue;
      seen.add(`var.${name}`);
      if (name in defaults) take(defaults[name], depth);
    }
  };
  const take = (value, depth) => {
    if (isExpr(value)) visit(value, depth + 1);
    else if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) {
        let resolved = v;
        try {
          resolved = hcl.resolveRefs(v, mod, defaults);
        } catch (e) {
          resolved = v;
        }
        out[k] = isExpr(resolved) || resolved === null ? null : String(resolved);
      }
    }
  };
  visit(String(member), 0);
  return { names: out, from: 'for expression' };
}

async function describe(dir) {
  const mod = await hcl.loadModule(dir);
  const defaults = hcl.variableDefaults(mod);
  const td = mod.resources[RESOURCE];
  if (!td) throw new Error(`${dir}: no ${RESOURCE}`);
  const exprs = hcl.interpolations(String(td.container_definitions || ''));
  const m = exprs.length === 1 ? /^\s*jsonencode\(([\s\S]*)\)\s*$/.exec(exprs[0]) : null;
  if (!m) throw new Error(`${RESOURCE}: container_definitions must be jsonencode([...])`);
  const parsed = (await parse('container_definitions.tf', `x = ${m[1]}\n`)).x;
  if (!Array.isArray(parsed) || parsed.length !== 1) {
    throw new Error(`${RESOURCE}: expected exactly one container definition`);
  }
  const raw = parsed[0];
  const container = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'environment' || k === 'secrets') continue;
    let resolved = v;
    try {
      resolved = hcl.resolveRefs(v, mod, defaults);
    } catch (e) {
      resolved = v;
    }
    container[k] = resolved;
  }
  const env = namedValues(raw.environment, 'value', mod, defaults);
  const secrets = namedValues(raw.secrets, 'valueFrom', mod, defaults);
  const out = {
    file: path.relative(REPO, path.join(dir, td.__file)),
    container,
    environment: env.names,
    environment_from: env.from,
    secrets: Object.keys(secrets.names).sort(),
    volumes: hcl.blocks(td.volume).map((v) => v.name),
    requires_compatibilities: td.requires_compatibilities || [],
  };
  return out;
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--many') {
    const all = {};
    for (const d of args.slice(1)) {
      try {
        all[d] = await describe(path.resolve(d));
      } catch (e) {
        all[d] = { error: e && e.message ? e.message : String(e) };
      }
    }
    process.stdout.write(`${JSON.stringify(all)}\n`);
    return;
  }
  const out = await describe(path.resolve(args[0] || path.join(REPO, 'terraform')));
  process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
}

main().catch((e) => {
  process.stderr.write(`taskdef.js: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
