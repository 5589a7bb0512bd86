'use strict';
/* check_asl.js - the state machine definitions: rendered like Terraform
 * renders them (placeholders filled with test values: activity ARNs as the
 * module names them, settings at the module's variable defaults and at the
 * ends of their allowed ranges), validated with asl-validator's Node API
 * (the CLI ignores --no-arn-check/--no-path-check), then checked for
 * meaning with lib/asl_semantics.js. The semantic checker is itself tested
 * on broken copies of the engine, each of which must fail with the exact
 * expected message.
 */

const fs = require('fs');
const path = require('path');
const validator = require('asl-validator');
const template = require('./lib/template');
const { checkEngine, parseFlow } = require('./lib/asl_semantics');

const ENGINE = path.join(template.REPO, 'statemachines', 'engine.asl.json');

function validate(def) {
  // The validator adds QueryLanguage to the states it is given: a copy.
  const r = validator(structuredClone(def), { checkArn: true, checkPaths: true });
  return r.isValid ? [] : r.errors.map((e) => `asl-validator: ${e['Error code'] || ''} ${e.Message || JSON.stringify(e)}`.trim());
}

async function engineContext(ctx) {
  const text = fs.readFileSync(ENGINE, 'utf8');
  const defaults = await ctx.defaults();
  const vars = template.engineTestVars(defaults);
  const def = JSON.parse(template.render(text, vars));
  const shape = template.shape(text);
  const flow = parseFlow(fs.readFileSync(path.join(template.REPO, 'docs', 'ACTIVITIES.md'), 'utf8'));
  return { text, defaults, vars, def, shape, flow };
}

const checks = [
  {
    name: 'asl_files_render_and_validate',
    doc: 'every statemachines/*.asl.json renders and passes asl-validator',
    async run(ctx) {
      const errors = [];
      const notes = [];
      const dir = path.join(template.REPO, 'statemachines');
      const defaults = await ctx.defaults();
      for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.asl.json')).sort()) {
        const text = fs.readFileSync(path.join(dir, f), 'utf8');
        let def;
        try {
          def = JSON.parse(template.render(text, template.engineTestVars(defaults)));
        } catch (e) {
          errors.push(`${f}: ${e.message}`);
          continue;
        }
        errors.push(...validate(def).map((e) => `${f}: ${e}`));
        notes.push(`${f}: ${Object.keys(def.States).length} top-level states`);
      }
      if (notes.length === 0) errors.push('no statemachines/*.asl.json found');
      return { errors, notes };
    },
  },
  {
    name: 'asl_engine_semantics',
    doc: 'engine.asl.json means what docs/ACTIVITIES.md says, at default settings',
    async run(ctx) {
      const e = await engineContext(ctx);
      return { errors: checkEngine(e.def, e.shape, e.flow) };
    },
  },
  {
    name: 'asl_engine_semantics_at_setting_limits',
    doc: 'HeartbeatSeconds stays below TimeoutSeconds for every allowed setting combination the module accepts',
    async run(ctx) {
      const e = await engineContext(ctx);
      const errors = [];
      // The module's validations: heartbeat 10..3600, task timeout 30..86400,
      // remediation timeout 60..86400, plus its precondition heartbeat <
      // both timeouts. The smallest legal gap must still validate.
      const cases = [
        { heartbeat_seconds: 29, task_timeout_seconds: 30, remediation_timeout_seconds: 60 },
        { heartbeat_seconds: 3600, task_timeout_seconds: 3601, remediation_timeout_seconds: 3601 },
        { retry_max_attempts: 1 }, { retry_max_attempts: 5 },
        { confidence_threshold: 1 }, { confidence_threshold: 0.01 },
      ];
      for (const c of cases) {
        const def = JSON.parse(template.render(e.text, Object.assign({}, e.vars, c)));
        const errs = validate(def).concat(checkEngine(def, e.shape, e.flow));
        errors.push(...errs.map((x) => `${JSON.stringify(c)}: ${x}`));
      }
      return { errors };
    },
  },
  {
    name: 'asl_semantic_checker_catches_mistakes',
    doc: 'broken copies of the engine fail the semantic check with the expected message',
    async run(ctx) {
      const e = await engineContext(ctx);
      const errors = [];
      const mutations = [
        ['HeartbeatSeconds equal to TimeoutSeconds', (d) => { d.States.Diagnose.HeartbeatSeconds = d.States.Diagnose.TimeoutSeconds; },
          `Diagnose: HeartbeatSeconds ${e.vars.task_timeout_seconds} must be below TimeoutSeconds ${e.vars.task_timeout_seconds}`],
        ['a Choice without Default', (d) => { delete d.States.Route.Default; }, 'Route: Choice state has no Default'],
        ['no retry on Healer.Throttled', (d) => { d.States.Guard.Retry.forEach((r) => { r.ErrorEquals = r.ErrorEquals.filter((x) => x !== 'Healer.Throttled'); }); },
          'Guard: no Retry on Healer.Throttled'],
        ['unbounded retries', (d) => { d.States.RenewCert.Retry[0].MaxAttempts = 99; },
          `RenewCert: Retry on ${d0(e).States.RenewCert.Retry[0].ErrorEquals[0]} needs MaxAttempts between 1 and 10, has 99`],
        ['retrying everything', (d) => { d.States.Guard.Retry.push({ ErrorEquals: ['States.ALL'], MaxAttempts: 2, BackoffRate: 2, IntervalSeconds: 1 }); },
          'Guard: Retry on States.ALL would retry Healer.InvalidInput'],
        ['Catch to the wrong state', (d) => { d.States.RemediateSg.Catch[0].Next = 'Record'; },
          'RemediateSg: Catch States.ALL must go to Escalate, goes to Record'],
        ['Catch dropping the error', (d) => { d.States.Diagnose.Catch[0].ResultPath = '$'; },
          'Diagnose: Catch States.ALL must keep the error at $.error, has "$"'],
        ['a branch Catch leaving its branch', (d) => { branchState(d, 'Record', 'Notify').Catch[0].Next = 'Escalate'; },
          'Notify: Catch goes to Escalate, which is not in its branch'],
        ['dryRun not carried', (d) => { delete d.States.RemediateDisk.Parameters['dryRun.$']; d.States.RemediateDisk.Parameters.dryRun = false; },
          'RemediateDisk: Parameters dryRun must be taken from $.dryRun'],
        ['a missing state of the documented flow', (d) => { d.States.Route.Choices = d.States.Route.Choices.filter((c) => c.Next !== 'RenewCert'); delete d.States.RenewCert; },
          'flow: state RenewCert (docs/ACTIVITIES.md) is missing'],
        ['a Choice reading a field without IsPresent', (d) => { d.States.GuardChoice.Choices[0].And.shift(); },
          'GuardChoice: rule to Diagnose reads $.guard.proceed without an IsPresent before it'],
        ['escalated record with the wrong mode', (d) => { d.States.Escalate.Parameters.meta.mode = 'resolved'; },
          'Escalate: Parameters must be {"meta": {"execution.$": "$$.Execution.Id", "mode": "escalated"}, "state.$": "$"}'],
      ];
      for (const [what, mutate, expected] of mutations) {
        const d = structuredClone(e.def);
        mutate(d);
        const got = checkEngine(d, e.shape, e.flow);
        if (!got.includes(expected)) {
          errors.push(`${what}: expected "${expected}", got ${JSON.stringify(got)}`);
        }
      }
      // And the untouched engine passes (else the above proves little).
      const clean = checkEngine(e.def, e.shape, e.flow);
      if (clean.length) errors.push(`the unmodified engine fails: ${clean.join('; ')}`);
      return { errors, notes: [`${mutations.length} mutations`] };
    },
  },
  {
    name: 'asl_template_syntax',
    doc: 'templates use only ${name} placeholders Terraform renders the same way',
    async run() {
      const errors = [];
      const dir = path.join(template.REPO, 'statemachines');
      for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.asl.json')).sort()) {
        try {
          template.placeholders(fs.readFileSync(path.join(dir, f), 'utf8'));
        } catch (e) {
          errors.push(`${f}: ${e.message}`);
        }
      }
      // The renderer itself: unknown keys and directives are errors.
      const expectThrow = (fn, msg) => {
        try { fn(); errors.push(`renderer accepted what Terraform rejects (${msg})`); } catch (x) {
          if (!x.message.includes(msg)) errors.push(`renderer: expected "${msg}", got "${x.message}"`);
        }
      };
      expectThrow(() => template.render('{"a": ${b}}', {}), 'vars map does not contain key "b"');
      expectThrow(() => template.render('%{ if x }y%{ endif }', { x: true }), 'template directives');
      expectThrow(() => template.render('${a.b}', { a: 1 }), 'unsupported template expression ${a.b}');
      if (template.render('$${a} ${n} ${f} ${t}', { n: 60, f: 0.8, t: true }) !== '${a} 60 0.8 true') {
        errors.push('renderer: escapes or number formatting differ from Terraform');
      }
      return { errors };
    },
  },
];

function d0(e) { return e.def; }

function branchState(def, parallel, name) {
  for (const b of def.States[parallel].Branches) if (b.States[name]) return b.States[name];
  throw new Error(`no ${name} in ${parallel}`);
}

module.exports = { checks, engineContext, ENGINE };
