'use strict';
/* check_dry_run.js - the dryRun each EventBridge rule puts into the
 * executions it starts (terraform/events.tf local.event_dry_run): the
 * rule's diagnosis class's entry of var.dry_run_by_class, else
 * var.dry_run.
 *
 * For a set of variable values (SCENARIOS, plus each class switched off on
 * its own) the target's input_template is rendered for every rule and must
 * be {"event": ..., "dryRun": <the expected bool>}; the expected value is
 * computed here from RULE_CLASS, not read from the module, so a rule
 * mapped to the wrong class fails. var.dry_run_by_class's validation must
 * accept every class the C code names (activities/event.c
 * hl_event_class_name, "unknown" aside) and reject any other key, with a
 * message that lists the valid ones; the example must pass the variable
 * through.
 *
 * Two evaluators: lib/hcl_expr.js (always) and, with a terraform binary,
 * `terraform console` on the locals and variables involved (the way
 * check_tf_schema.js renders the event patterns), which must agree with
 * it and with the expectation, and must reject the bad maps at the
 * variable's validation.
 */

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const hcl = require('./lib/hcl');
const hclExpr = require('./lib/hcl_expr');
const template = require('./lib/template');
const tfSchema = require('./check_tf_schema');

const TF_ROOT = path.join(template.REPO, 'terraform');
const TARGET = 'aws_cloudwatch_event_target.engine';
const EVENT = '<aws.events.event.json>';

/* The diagnosis class of the events each rule starts executions for (the
 * recoveries: the class of the problem that went away). A rule missing
 * here fails the check, so a new rule forces a decision. */
const RULE_CLASS = {
  disk: 'disk_pressure',
  disk_ok: 'disk_pressure',
  ssh: 'public_ssh',
  ssh_ok: 'public_ssh',
  cert: 'cert_expiry',
};

/* [what, variable values]; each class switched off alone is added. */
const SCENARIOS = [
  ['defaults (dry_run true, no map)', {}],
  ['dry_run false, no map', { dry_run: false, dry_run_by_class: {} }],
  ['dry_run true, disk_pressure trusted', { dry_run: true, dry_run_by_class: { disk_pressure: false } }],
  ['dry_run false, public_ssh and cert_expiry still dry', { dry_run: false, dry_run_by_class: { public_ssh: true, cert_expiry: true } }],
  ['dry_run false, a class set false explicitly', { dry_run: false, dry_run_by_class: { cert_expiry: false } }],
];

/* Maps the validation must reject: [what, value]. */
const REJECTED = [
  ['an unknown class', { disk: false }],
  ['"unknown" (never remediated, never started by a rule)', { unknown: false }],
  ['a null value', { disk_pressure: null }],
];

/* lib/hcl_expr.js on known answers (Terraform's): [expression, value or
 * {error: fragment}]. */
const EXPR_CASES = [
  ['lookup({ a = true }, "b", false)', false],
  ['lookup({ a = true }, "a", false)', true],
  ['lookup({ a = true }, "b")', { error: 'no key "b"' }],
  ['"x${true}"', 'xtrue'],
  ['"${false}"', false],
  ['"a${null}"', { error: 'null' }],
  ['{ for k, v in { b = "1", a = "2" } : v => k }', { 2: 'a', 1: 'b' }],
  ['[for k, v in { b = 1, a = 2 } : k]', ['a', 'b']],
  ['alltrue([for x in ["a", "b"] : contains(["a"], x)])', false],
  ['alltrue([for k, v in {} : false])', true],
  ['!(1 == 1) || null == null', true],
  ['contains(["a"], "a") && true != false', true],
  ['{ a = { b = [1, 2] } }.a.b[1]', 2],
  ['keys({ z = 1, a = 2 })', ['a', 'z']],
  ['"\\"q\\" $${x}"', '"q" ${x}'],
  ['upper("x")', { error: 'upper() is not supported' }],
  ['1 + 1', { error: 'unsupported character' }],
  ['true ? 1 : 2', { error: 'unsupported' }],
  ['"%{if true}x%{endif}"', { error: 'directives are not supported' }],
  ['"100%%{x}"', '100%{x}'],
];

function exprSelfTest() {
  const errors = [];
  const scope = { vars: {}, locals: {}, bound: {}, each: null };
  for (const [src, want] of EXPR_CASES) {
    let got;
    try { got = hclExpr.evalValue(`\${${src}}`, scope); } catch (e) { got = { error: e.message }; }
    const ok = want && want.error !== undefined ? got && typeof got.error === 'string' && got.error.includes(want.error) : JSON.stringify(got) === JSON.stringify(want);
    if (!ok) errors.push(`lib/hcl_expr.js: ${src} gives ${JSON.stringify(got)}, Terraform ${JSON.stringify(want)}`);
  }
  return errors;
}

function cClasses() {
  const src = fs.readFileSync(path.join(template.REPO, 'activities', 'event.c'), 'utf8');
  const fn = /const char \*hl_event_class_name\([^)]*\)\s*\{([\s\S]*?)\n\}/.exec(src);
  if (!fn) throw new Error('activities/event.c: hl_event_class_name not found');
  return [...fn[1].matchAll(/case HL_EVENT_\w+:\s*return "([a-z_]+)";/g)].map((m) => m[1]);
}

function scenarios(classes) {
  const out = SCENARIOS.slice();
  for (const c of classes) out.push([`dry_run true, only ${c} trusted`, { dry_run: true, dry_run_by_class: { [c]: false } }]);
  return out;
}

/* dryRun a rule must get: its class's entry, else dry_run (default true). */
function expected(rule, vars) {
  const byClass = vars.dry_run_by_class || {};
  const cls = RULE_CLASS[rule];
  if (Object.prototype.hasOwnProperty.call(byClass, cls)) return byClass[cls];
  return vars.dry_run === undefined ? true : vars.dry_run;
}

/* Errors for one rule's rendered input_template. */
function judge(what, rule, rendered, want) {
  let j;
  try {
    j = JSON.parse(String(rendered).split(EVENT).join('{"probe": 1}'));
  } catch (e) {
    return [`${what}: rule ${rule}: input_template renders ${JSON.stringify(rendered)}, not JSON: ${e.message}`];
  }
  if (JSON.stringify(Object.keys(j).sort()) !== '["dryRun","event"]' || j.event.probe !== 1) {
    return [`${what}: rule ${rule}: renders ${rendered}, not {"event": ${EVENT}, "dryRun": <bool>}`];
  }
  if (j.dryRun !== want) return [`${what}: rule ${rule} (${RULE_CLASS[rule]}) sends dryRun ${JSON.stringify(j.dryRun)}, should send ${want}`];
  return [];
}

function inputTemplate(mod) {
  const t = mod.resources[TARGET];
  if (!t) throw new Error(`no ${TARGET}`);
  if (t.for_each !== '${local.event_patterns}') throw new Error(`${TARGET}: for_each must be local.event_patterns (one target per rule)`);
  const it = hcl.blocks(t.input_transformer)[0];
  if (!it || typeof it.input_template !== 'string') throw new Error(`${TARGET}: no input_transformer.input_template`);
  return it.input_template;
}

/* ---- without terraform ----------------------------------------------------- */

async function checkEvaluated(ctx) {
  const errors = exprSelfTest();
  const notes = [`${EXPR_CASES.length} evaluator cases`];
  const mod = await ctx.module('terraform');
  const classes = cClasses();
  if (classes.length === 0) errors.push('activities/event.c: no class names found in hl_event_class_name');
  const rules = Object.keys(mod.locals.event_patterns || {});
  for (const r of rules) if (!(r in RULE_CLASS)) errors.push(`rule ${r}: new rule: decide its class in tests/infra/check_dry_run.js RULE_CLASS`);
  for (const r of Object.keys(RULE_CLASS)) if (!rules.includes(r)) errors.push(`rule ${r} (RULE_CLASS) is not in local.event_patterns`);
  for (const [r, c] of Object.entries(RULE_CLASS)) if (!classes.includes(c)) errors.push(`RULE_CLASS ${r}: ${c} is not a class of activities/event.c (${classes.join(', ')})`);

  const dr = mod.variables.dry_run;
  const by = mod.variables.dry_run_by_class;
  if (!dr || dr.type !== '${bool}' || dr.default !== true) errors.push('var.dry_run must stay a bool defaulting to true (the deployment default)');
  if (!by || by.type !== '${map(bool)}' || JSON.stringify(by.default) !== '{}') errors.push('var.dry_run_by_class must be a map(bool) defaulting to {}');
  if (errors.length) return { errors };

  let tpl;
  try { tpl = inputTemplate(mod); } catch (e) { return { errors: [e.message] }; }
  for (const [what, vars] of scenarios(classes)) {
    for (const rule of rules) {
      let rendered;
      try {
        rendered = hclExpr.evalValue(tpl, hclExpr.moduleScope(mod, vars, { key: rule, value: mod.locals.event_patterns[rule] }));
      } catch (e) {
        errors.push(`${what}: rule ${rule}: cannot evaluate input_template ${JSON.stringify(tpl)}: ${e.message}`);
        continue;
      }
      errors.push(...judge(what, rule, rendered, expected(rule, vars)));
    }
  }
  notes.push(`${scenarios(classes).length} scenarios x ${rules.length} rules`);

  // The validation: every class alone and all together pass; the rest fail
  // with a message naming the valid classes.
  const accepted = [{}, Object.fromEntries(classes.map((c) => [c, false]))].concat(classes.map((c) => ({ [c]: true })));
  for (const value of accepted) {
    try {
      const bad = hclExpr.validate(mod, 'dry_run_by_class', value).filter((v) => !v.ok);
      if (bad.length) errors.push(`var.dry_run_by_class validation rejects ${JSON.stringify(value)}: ${bad[0].message}`);
    } catch (e) {
      errors.push(`var.dry_run_by_class validation cannot be evaluated: ${e.message}`);
    }
  }
  for (const [what, value] of REJECTED) {
    let res;
    try { res = hclExpr.validate(mod, 'dry_run_by_class', value); } catch (e) { errors.push(`var.dry_run_by_class validation cannot be evaluated: ${e.message}`); continue; }
    const bad = res.filter((v) => !v.ok);
    if (bad.length === 0) errors.push(`var.dry_run_by_class validation accepts ${what} (${JSON.stringify(value)})`);
    else {
      const missing = classes.filter((c) => !bad[0].message.includes(c));
      if (missing.length) errors.push(`var.dry_run_by_class validation message does not list ${missing.join(', ')}: ${bad[0].message}`);
    }
  }

  // The example passes it through.
  const ex = await ctx.module(path.join('terraform', 'examples', 'complete'));
  const call = ex.modules.healer;
  if (!call || call.dry_run_by_class !== '${var.dry_run_by_class}') errors.push('terraform/examples/complete: module.healer must set dry_run_by_class = var.dry_run_by_class');
  const exVar = ex.variables.dry_run_by_class;
  if (!exVar || exVar.type !== '${map(bool)}' || JSON.stringify(exVar.default) !== '{}') errors.push('terraform/examples/complete: var.dry_run_by_class must be a map(bool) defaulting to {}');
  return { errors, notes };
}

/* ---- with terraform console ---------------------------------------------- */

function tfRun(tf, dir, vars, input) {
  fs.writeFileSync(path.join(dir, 'scenario.auto.tfvars.json'), JSON.stringify(vars));
  const env = Object.assign({}, process.env, { CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: path.join(dir, 'terraformrc'), TF_IN_AUTOMATION: '1' });
  return spawnSync(tf, ['console', '-no-color'], { cwd: dir, input, encoding: 'utf8', env, timeout: 60000 });
}

async function checkConsole(ctx, tf) {
  const errors = [];
  const mod = await ctx.module('terraform');
  const classes = cClasses();
  const { files, problems } = await tfSchema.scannedFiles(ctx, TF_ROOT);
  if (problems.length) return { errors: problems };
  let config;
  try { config = tfSchema.consoleConfig(files.filter((f) => f.dir === TF_ROOT), 'event_dry_run'); } catch (e) { return { errors: [e.message] }; }
  // The template as written (one line in events.tf), each.key bound by a for.
  const src = fs.readFileSync(path.join(TF_ROOT, 'events.tf'), 'utf8');
  const m = /^\s*input_template\s*=\s*("(?:[^"\\]|\\.)*")\s*$/m.exec(src);
  if (!m) return { errors: ['terraform/events.tf: input_template must be a one-line string literal for this check'] };
  const expr = `jsonencode({ for k in keys(local.event_dry_run) : k => ${m[1].replace(/\beach\.key\b/g, 'k')} })\n`;
  let tpl;
  try { tpl = inputTemplate(mod); } catch (e) { return { errors: [e.message] }; }
  const rules = Object.keys(mod.locals.event_patterns || {});
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-console-dryrun-'));
  let runs = 0;
  try {
    fs.writeFileSync(path.join(tmp, 'terraformrc'), '');
    fs.writeFileSync(path.join(tmp, 'main.tf'), config);
    for (const [what, vars] of scenarios(classes)) {
      const r = tfRun(tf, tmp, vars, expr);
      runs++;
      const line = (r.stdout || '').split('\n').map((l) => l.trim()).filter((l) => l.startsWith('"')).pop();
      if (r.status !== 0 || !line || /Error:/.test(r.stderr || '')) {
        errors.push(`${what}: terraform console failed: ${(r.stderr || r.stdout || '').trim().slice(0, 500)}`);
        continue;
      }
      const theirs = JSON.parse(JSON.parse(line));
      if (JSON.stringify(Object.keys(theirs).sort()) !== JSON.stringify(rules.slice().sort())) {
        errors.push(`${what}: local.event_dry_run has rules ${Object.keys(theirs).sort().join(', ')}, local.event_patterns ${rules.slice().sort().join(', ')}`);
      }
      for (const rule of rules) {
        if (!(rule in theirs)) continue;
        errors.push(...judge(`${what} (terraform)`, rule, theirs[rule], expected(rule, vars)));
        let ours;
        try { ours = hclExpr.evalValue(tpl, hclExpr.moduleScope(mod, vars, { key: rule })); } catch (e) { ours = `error: ${e.message}`; }
        if (ours !== theirs[rule]) errors.push(`${what}: rule ${rule}: terraform renders ${theirs[rule]}, lib/hcl_expr.js ${ours}`);
      }
    }
    const message = mod.variables.dry_run_by_class && hcl.blocks(mod.variables.dry_run_by_class.validation).map((v) => v.error_message)[0];
    for (const [what, value] of REJECTED) {
      const r = tfRun(tf, tmp, { dry_run_by_class: value }, 'true\n');
      runs++;
      const err = (r.stderr || '').replace(/\s+/g, ' ');
      if (!err.includes('Invalid value for variable') || !message || !err.includes(message)) {
        errors.push(`terraform accepts dry_run_by_class = ${JSON.stringify(value)} (${what}): ${err.trim().slice(0, 300) || 'no error'}`);
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { errors, notes: [`${runs} terraform console runs`] };
}

const checks = [
  {
    name: 'terraform_event_dry_run',
    doc: 'each rule sends the dryRun of its class (dry_run_by_class[class], else dry_run); the validation accepts exactly the C code\'s classes',
    run: checkEvaluated,
  },
  {
    name: 'terraform_console_renders_dry_run',
    doc: 'terraform console renders each rule\'s input_template with the expected dryRun and rejects unknown classes (needs a terraform binary)',
    async run(ctx) {
      const tf = tfSchema.terraformBinary();
      if (!tf) return { skipped: 'no terraform binary installed' };
      return checkConsole(ctx, tf);
    },
  },
];

module.exports = { checks, RULE_CLASS };
