#!/usr/bin/env node
'use strict';
/* run.js - runs the infrastructure checks (state machine, Terraform,
 * EventBridge patterns, the C action scan) in one Node process and prints
 * one JSON report: {"checks": [{"name", "doc", "ok", "skipped", "errors",
 * "notes", "ms"}]}. Exit 0 when every check passed or was skipped, 1 when
 * one failed, 2 on a crash.
 *
 *   node tests/infra/run.js                 all checks
 *   node tests/infra/run.js --only NAME...  some
 *   node tests/infra/run.js --list          names and descriptions
 *   node tests/infra/run.js --text          a readable report instead of JSON
 *
 * Run from anywhere; paths are taken relative to the repository. The Terraform
 * files are parsed once (hcl2json loads a WASM module: ~0.4 s).
 */

const path = require('path');
const hcl = require('./lib/hcl');
const template = require('./lib/template');

const ALL = [
  ...require('./check_asl').checks,
  ...require('./check_events').checks,
  ...require('./check_terraform').checks,
  ...require('./check_tf_schema').checks,
  ...require('./check_dashboard').checks,
  ...require('./check_dry_run').checks,
  ...require('./check_scanner').checks,
];

function context() {
  const modules = new Map();
  const ctx = {
    async module(rel) {
      const dir = path.resolve(template.REPO, rel);
      if (!modules.has(dir)) modules.set(dir, hcl.loadModule(dir));
      return modules.get(dir);
    },
    async defaults() {
      return hcl.variableDefaults(await ctx.module('terraform'));
    },
  };
  return ctx;
}

async function main(argv) {
  if (argv.includes('--list')) {
    for (const c of ALL) process.stdout.write(`${c.name}\t${c.doc}\n`);
    return 0;
  }
  const oi = argv.indexOf('--only');
  const only = oi >= 0 ? argv.slice(oi + 1).filter((a) => !a.startsWith('--')) : null;
  if (only) {
    const unknown = only.filter((n) => !ALL.some((c) => c.name === n));
    if (unknown.length) throw new Error(`unknown check(s): ${unknown.join(', ')}`);
  }
  const ctx = context();
  const report = { checks: [] };
  for (const c of ALL) {
    if (only && !only.includes(c.name)) continue;
    const t0 = Date.now();
    let r;
    try {
      r = await c.run(ctx);
    } catch (e) {
      r = { errors: [`crashed: ${e && e.stack ? e.stack : e}`] };
    }
    report.checks.push({
      name: c.name, doc: c.doc, ok: !r.skipped && (r.errors || []).length === 0,
      skipped: r.skipped || null, errors: r.errors || [], notes: r.notes || [], ms: Date.now() - t0,
    });
  }
  if (argv.includes('--text')) {
    for (const c of report.checks) {
      process.stdout.write(`${c.skipped ? 'SKIP' : c.ok ? 'ok  ' : 'FAIL'} ${c.name} (${c.ms} ms)${c.skipped ? `: ${c.skipped}` : ''}\n`);
      for (const e of c.errors) process.stdout.write(`     - ${e}\n`);
    }
  } else {
    process.stdout.write(`${JSON.stringify(report, null, 1)}\n`);
  }
  return report.checks.every((c) => c.ok || c.skipped) ? 0 : 1;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
  process.stderr.write(`run.js: ${e && e.stack ? e.stack : e}\n`);
  process.exitCode = 2;
});
