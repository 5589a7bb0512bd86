#!/usr/bin/env node
'use strict';
/* render-asl.js - renders a state machine template the way Terraform's
 * templatefile() does, for local runs (tests/local/sfn_runner.js, the
 * demo) and for reading the real definition.
 *
 *   node scripts/render-asl.js [--arn-prefix PREFIX] [--var NAME=VALUE]... [FILE]
 *
 * FILE defaults to statemachines/engine.asl.json. Settings default to the
 * Terraform module's variable defaults (terraform/variables.tf); activity
 * ARNs to arn:aws:states:us-east-1:123456789012:activity:<name>-<activity>,
 * or PREFIX<activity> with --arn-prefix. --var overrides any placeholder
 * (numbers and true/false are typed). Prints the rendered JSON; a
 * placeholder without a value is an error, as in Terraform.
 */

const fs = require('fs');
const path = require('path');
const template = require('../tests/infra/lib/template');
const hcl = require('../tests/infra/lib/hcl');

const ACTIVITIES = ['guard', 'diagnose', 'remediate-disk', 'remediate-sg', 'renew-cert', 'ticket', 'notify', 'audit'];

function usage(msg) {
  process.stderr.write(`${msg ? `render-asl: ${msg}\n` : ''}usage: render-asl.js [--arn-prefix PREFIX] [--var NAME=VALUE]... [FILE]\n`);
  process.exit(2);
}

function typed(v) {
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if (v === 'true' || v === 'false') return v === 'true';
  return v;
}

async function main(argv) {
  let file = path.join(template.REPO, 'statemachines', 'engine.asl.json');
  let prefix = null;
  const overrides = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--arn-prefix') {
      prefix = argv[++i];
      if (!prefix) usage('--arn-prefix needs a value');
    } else if (a === '--var') {
      const kv = argv[++i] || '';
      const eq = kv.indexOf('=');
      if (eq <= 0) usage(`--var needs NAME=VALUE, got "${kv}"`);
      overrides[kv.slice(0, eq)] = typed(kv.slice(eq + 1));
    } else if (a === '-h' || a === '--help') {
      usage();
    } else if (a.startsWith('-')) {
      usage(`unknown option ${a}`);
    } else {
      file = path.resolve(a);
    }
  }
  const mod = await hcl.loadModule(path.join(template.REPO, 'terraform'));
  const vars = template.engineTestVars(hcl.variableDefaults(mod));
  if (prefix) for (const act of ACTIVITIES) vars[`${act.replace(/-/g, '_')}_activity_arn`] = prefix + act;
  Object.assign(vars, overrides);
  const text = template.renderFile(file, vars);
  process.stdout.write(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`render-asl: ${e.message}\n`);
  process.exit(1);
});
