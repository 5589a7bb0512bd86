'use strict';
/* check_terraform.js - the Terraform module and its example, checked
 * without providers (nothing here can download one):
 *   - every .tf parses; every var./local./data./module./resource reference
 *     names something declared; module calls pass declared variables and
 *     every required one;
 *   - file()/templatefile() targets exist; the templatefile vars fill every
 *     placeholder of the template and nothing else;
 *   - the task role grants exactly the AWS actions the C code calls
 *     (lib/c_actions.js, computed now), and no policy uses "*" where IAM
 *     has a narrower resource;
 *   - EventBridge targets send the whole event and their rule's dryRun
 *     (local.event_dry_run; the values: check_dry_run.js); their role may
 *     only start this state machine;
 *   - the worker's environment names only settings the C code reads and
 *     sets every setting of docs/ACTIVITIES.md; the tokens come from
 *     Secrets Manager; the container matches the Dockerfile;
 *   - the DynamoDB tables have the keys docs/ACTIVITIES.md names;
 *   - with a terraform binary installed: `terraform fmt -check`, and
 *     `terraform console` renders the engine template exactly as
 *     lib/template.js does (skipped, and said so, without one).
 */

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const hcl = require('./lib/hcl');
const template = require('./lib/template');
const { deriveActions, workerSources } = require('./lib/c_actions');

const TF_ROOT = path.join(template.REPO, 'terraform');
const PROVIDERS = ['aws'];
const BUILTIN_ROOTS = new Set(['path', 'terraform', 'each', 'count', 'self']);

/* Actions IAM offers no resource-level permission for: "*" is the only
 * possible resource. Anything else with "*" fails the check. */
const STAR_OK = {
  'states:SendTaskSuccess': 'task-token operation',
  'states:SendTaskFailure': 'task-token operation',
  'states:SendTaskHeartbeat': 'task-token operation',
  'ssm:GetCommandInvocation': 'no resource types in IAM',
  'ssm:ListCommands': 'no resource types in IAM',
  'ssm:DescribeInstanceInformation': 'no resource types in IAM',
  'config:BatchGetResourceConfig': 'no resource types in IAM',
  'tag:GetResources': 'no resource types in IAM',
  'ec2:DescribeSecurityGroups': 'EC2 Describe* have no resource types',
  'ecr:GetAuthorizationToken': 'no resource types in IAM',
  'logs:CreateLogDelivery': 'vended log delivery requires "*"',
  'logs:GetLogDelivery': 'vended log delivery requires "*"',
  'logs:UpdateLogDelivery': 'vended log delivery requires "*"',
  'logs:DeleteLogDelivery': 'vended log delivery requires "*"',
  'logs:ListLogDeliveries': 'vended log delivery requires "*"',
  'logs:PutResourcePolicy': 'vended log delivery requires "*"',
  'logs:DescribeResourcePolicies': 'vended log delivery requires "*"',
  'logs:DescribeLogGroups': 'vended log delivery requires "*"',
};

/* In the C code but deliberately not granted to the workers. */
const OPERATOR_ONLY = {
  'ssm:PutParameter': 'hl_killswitch_set: operators flip the kill switch with their own credentials; a worker must not re-enable itself',
  'states:StartExecution': '`healer replay` (worker/cli_replay.c) starts executions with the operator\'s credentials',
  'states:DescribeExecution': '`healer replay --wait` (worker/cli_replay.c) follows the execution it started',
  'dynamodb:Scan': '`healer status` (worker/cli_status.c) lists breakers and recent records',
};

/* Not API calls, but needed by one: granted when the call is. */
const PERMISSION_ONLY = {
  'iam:PassRole': 'ssm:StartAutomationExecution',
};

/* Actions whose resource must name one of this module's resources. */
const MUST_NAME = {
  'states:GetActivityTask': 'aws_sfn_activity.this',
  'ssm:GetParameter': 'aws_ssm_parameter.kill_switch',
  'ssm:SendCommand': 'aws_ssm_document.disk_cleanup',
  'dynamodb:GetItem': 'aws_dynamodb_table.',
  'dynamodb:PutItem': 'aws_dynamodb_table.audit',
  'dynamodb:UpdateItem': 'aws_dynamodb_table.breaker',
  'dynamodb:Query': 'aws_dynamodb_table.audit',
  'iam:PassRole': 'aws_iam_role.sg_automation',
};

function rel(p) { return path.relative(template.REPO, p); }

function* policyStatements(mod) {
  for (const [key, doc] of Object.entries(mod.data)) {
    if (!key.startsWith('aws_iam_policy_document.')) continue;
    const name = key.split('.')[1];
    for (const st of hcl.blocks(doc.statement)) yield { doc: name, file: doc.__file, st };
    const dyn = doc.dynamic && doc.dynamic.statement;
    for (const d of hcl.blocks(dyn)) for (const c of hcl.blocks(d.content)) yield { doc: name, file: doc.__file, st: c, dynamic: true };
  }
}

function literalList(v) {
  return Array.isArray(v) ? v : null;
}

function defaultsOfC() {
  const known = new Set(['AWS_REGION']);
  for (const f of workerSources(template.REPO)) {
    const src = fs.readFileSync(f, 'utf8');
    for (const m of src.matchAll(/"(HEALER_[A-Z0-9_]+)"/g)) known.add(m[1]);
  }
  return known;
}

/* The settings table of docs/ACTIVITIES.md: {name: default or null}. A
 * row may name several variables with comma-separated defaults. */
function activitiesSettings() {
  const md = fs.readFileSync(path.join(template.REPO, 'docs', 'ACTIVITIES.md'), 'utf8');
  const sec = md.split(/^## Settings/m)[1] || '';
  const out = {};
  for (const line of sec.split('\n')) {
    const m = /^\|\s*([A-Z0-9_, ]+?)\s*\|\s*([^|]*?)\s*\|/.exec(line);
    if (!m) continue;
    const names = m[1].split(',').map((x) => x.trim()).filter((n) => /^HEALER_[A-Z0-9_]+$/.test(n));
    const defs = m[2].split(',').map((x) => x.trim());
    names.forEach((n, i) => {
      const d = defs.length === names.length ? defs[i] : m[2].trim();
      out[n] = ['-', '(none)', ''].includes(d) ? null : d;
    });
  }
  return out;
}

function terraformBinary() {
  const candidates = [process.env.TERRAFORM, '/usr/local/bin/terraform', '/usr/bin/terraform'].filter(Boolean);
  for (const c of candidates) if (fs.existsSync(c)) return c;
  return null;
}

function tfEnv(tmp) {
  const cfg = path.join(tmp, 'terraformrc');
  fs.writeFileSync(cfg, '');
  return Object.assign({}, process.env, { CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: cfg, TF_IN_AUTOMATION: '1' });
}

function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (JSON.stringify(ka) !== JSON.stringify(kb)) return false;
  return ka.every((k) => deepEqual(a[k], b[k]));
}

/* The object a templatefile() vars argument names: local.X, or an inline
 * object (keys only). */
function templateCalls(mod) {
  const out = [];
  for (const [f, { json }] of Object.entries(mod.files)) {
    for (const { where, expr } of hcl.expressions(json, f)) {
      for (const m of expr.matchAll(/\btemplatefile\(\s*("(?:[^"\\]|\\.)*"|local\.\w+)\s*,\s*(local\.\w+|\{)/g)) {
        out.push({ file: f, where, pathExpr: m[1], varsExpr: m[2], expr });
      }
    }
  }
  return out;
}

function resolvePathExpr(mod, e) {
  let s = e;
  const lm = /^local\.(\w+)$/.exec(s);
  if (lm) {
    s = mod.locals[lm[1]];
    if (typeof s !== 'string') throw new Error(`${e} is not a literal string`);
  } else {
    s = JSON.parse(s);
  }
  s = s.replace(/\$\{path\.module\}/g, mod.dir);
  if (s.includes('${')) throw new Error(`path ${e} has expressions this check cannot evaluate`);
  return path.resolve(mod.dir, s);
}

const checks = [
  {
    name: 'terraform_parses',
    doc: 'every .tf under terraform/ parses with hcl2json',
    async run(ctx) {
      const notes = [];
      for (const d of hcl.moduleDirs(TF_ROOT)) {
        const mod = await ctx.module(path.relative(template.REPO, d));
        notes.push(`${rel(d)}: ${Object.keys(mod.files).length} files, ${Object.keys(mod.resources).length} resources`);
      }
      return { errors: [], notes };
    },
  },
  {
    name: 'terraform_references_exist',
    doc: 'every var./local./data./module./resource reference names a declaration',
    async run(ctx) {
      const errors = [];
      for (const d of hcl.moduleDirs(TF_ROOT)) {
        const mod = await ctx.module(path.relative(template.REPO, d));
        const seen = new Set();
        for (const [f, { json }] of Object.entries(mod.files)) {
          for (const { where, expr } of hcl.expressions(json, f)) {
            const r = hcl.references(expr, PROVIDERS);
            // A moved block's `from` names an address that no longer
            // exists; it is wrong only when it still does.
            if (/\.moved\[\d+\]\.from$/.test(where)) {
              for (const n of r.resource) {
                if (n in mod.resources) errors.push(`${rel(path.join(d, f))} ${where}: ${n} is still declared: nothing moved`);
              }
              continue;
            }
            const miss = [];
            for (const n of r.var) if (!(n in mod.variables)) miss.push(`var.${n}`);
            for (const n of r.local) if (!(n in mod.locals)) miss.push(`local.${n}`);
            for (const n of r.data) if (!(n in mod.data)) miss.push(`data.${n}`);
            for (const n of r.module) if (!(n in mod.modules)) miss.push(`module.${n}`);
            for (const n of r.resource) if (!(n in mod.resources)) miss.push(n);
            for (const m of miss) {
              const k = `${f}:${m}`;
              if (!seen.has(k)) errors.push(`${rel(path.join(d, f))} ${where}: ${m} is not declared`);
              seen.add(k);
            }
          }
        }
        // Outputs of called modules.
        for (const [f, { json }] of Object.entries(mod.files)) {
          for (const { where, expr } of hcl.expressions(json, f)) {
            for (const m of expr.matchAll(/\bmodule\.(\w+)\.(\w+)/g)) {
              const call = mod.modules[m[1]];
              if (!call || typeof call.source !== 'string' || !call.source.startsWith('.')) continue;
              const child = await ctx.module(path.relative(template.REPO, path.resolve(d, call.source)));
              if (!(m[2] in child.outputs)) errors.push(`${rel(path.join(d, f))} ${where}: module.${m[1]} has no output ${m[2]}`);
            }
          }
        }
      }
      return { errors };
    },
  },
  {
    name: 'terraform_module_calls',
    doc: 'module calls pass only declared variables and every required one',
    async run(ctx) {
      const errors = [];
      let calls = 0;
      for (const d of hcl.moduleDirs(TF_ROOT)) {
        const mod = await ctx.module(path.relative(template.REPO, d));
        for (const [name, call] of Object.entries(mod.modules)) {
          if (typeof call.source !== 'string' || !call.source.startsWith('.')) continue;
          calls++;
          const child = await ctx.module(path.relative(template.REPO, path.resolve(d, call.source)));
          const meta = new Set(['source', 'version', 'providers', 'depends_on', 'count', 'for_each', '__file']);
          for (const k of Object.keys(call)) {
            if (!meta.has(k) && !(k in child.variables)) errors.push(`${rel(d)} module.${name}: ${k} is not a variable of ${call.source}`);
          }
          for (const [v, decl] of Object.entries(child.variables)) {
            if (!Object.prototype.hasOwnProperty.call(decl, 'default') && !(v in call)) {
              errors.push(`${rel(d)} module.${name}: required variable ${v} is not set`);
            }
          }
        }
      }
      if (calls === 0) errors.push('no example calls the module (terraform/examples/complete)');
      return { errors };
    },
  },
  {
    name: 'terraform_variables_described',
    doc: 'every variable has a type and a description; every output a description',
    async run(ctx) {
      const errors = [];
      for (const d of hcl.moduleDirs(TF_ROOT)) {
        const mod = await ctx.module(path.relative(template.REPO, d));
        for (const [n, v] of Object.entries(mod.variables)) {
          if (!v.type) errors.push(`${rel(d)} var.${n}: no type`);
          if (!v.description) errors.push(`${rel(d)} var.${n}: no description`);
        }
        for (const [n, o] of Object.entries(mod.outputs)) if (!o.description) errors.push(`${rel(d)} output.${n}: no description`);
      }
      return { errors };
    },
  },
  {
    name: 'terraform_files_exist',
    doc: 'file() and templatefile() read files that exist; the SSM document is a Command document',
    async run(ctx) {
      const errors = [];
      const notes = [];
      for (const d of hcl.moduleDirs(TF_ROOT)) {
        const mod = await ctx.module(path.relative(template.REPO, d));
        for (const [f, { json }] of Object.entries(mod.files)) {
          for (const { where, expr } of hcl.expressions(json, f)) {
            for (const m of expr.matchAll(/\b(file|templatefile)\(\s*("(?:[^"\\]|\\.)*"|local\.\w+)/g)) {
              let p;
              try { p = resolvePathExpr(mod, m[2]); } catch (e) { errors.push(`${f} ${where}: ${e.message}`); continue; }
              if (!fs.existsSync(p)) errors.push(`${rel(path.join(d, f))} ${where}: ${m[1]}(${rel(p)}): no such file`);
              else notes.push(`${m[1]}(${rel(p)})`);
            }
          }
        }
      }
      const doc = path.join(template.REPO, 'activities', 'disk-cleanup-document.json');
      if (fs.existsSync(doc)) {
        try {
          const j = JSON.parse(fs.readFileSync(doc, 'utf8'));
          if (j.schemaVersion !== '2.2') errors.push(`${rel(doc)}: schemaVersion must be "2.2" (a Command document)`);
          if (!Array.isArray(j.mainSteps) || j.mainSteps.length === 0) errors.push(`${rel(doc)}: no mainSteps`);
          else if (j.mainSteps.some((s) => s.action !== 'aws:runShellScript')) errors.push(`${rel(doc)}: every step must be aws:runShellScript`);
        } catch (e) {
          errors.push(`${rel(doc)}: not JSON: ${e.message}`);
        }
      }
      return { errors, notes: [...new Set(notes)] };
    },
  },
  {
    name: 'terraform_templatefile_fills_placeholders',
    doc: 'each templatefile() call gives exactly the placeholders its template uses',
    async run(ctx) {
      const errors = [];
      const notes = [];
      const mod = await ctx.module('terraform');
      const calls = templateCalls(mod);
      if (calls.length === 0) errors.push('no templatefile() call renders the state machine');
      for (const c of calls) {
        let p;
        try { p = resolvePathExpr(mod, c.pathExpr); } catch (e) { errors.push(`${c.file}: ${e.message}`); continue; }
        if (!fs.existsSync(p)) { errors.push(`${c.file}: template ${rel(p)} does not exist`); continue; }
        let keys;
        if (c.varsExpr.startsWith('local.')) {
          const v = mod.locals[c.varsExpr.slice(6)];
          if (!v || typeof v !== 'object') { errors.push(`${c.file}: ${c.varsExpr} is not an object literal`); continue; }
          keys = Object.keys(v);
        } else {
          const body = c.expr.slice(c.expr.indexOf('{', c.expr.indexOf(c.pathExpr)));
          keys = [...body.matchAll(/([A-Za-z_]\w*)\s*=/g)].map((m) => m[1]);
        }
        const need = template.placeholders(fs.readFileSync(p, 'utf8'));
        for (const n of need) if (!keys.includes(n)) errors.push(`${c.file}: ${rel(p)} uses \${${n}}, the templatefile vars do not set it`);
        for (const k of keys) if (!need.includes(k)) errors.push(`${c.file}: templatefile var ${k} is not used by ${rel(p)}`);
        notes.push(`${rel(p)}: ${need.length} placeholders filled`);
      }
      if (!fs.readdirSync(path.join(template.REPO, 'statemachines')).filter((f) => f.endsWith('.asl.json'))
        .every((f) => calls.some((c) => { try { return resolvePathExpr(mod, c.pathExpr) === path.join(template.REPO, 'statemachines', f); } catch (e) { return false; } }))) {
        errors.push('a statemachines/*.asl.json file is not deployed by any templatefile() call');
      }
      return { errors, notes };
    },
  },
  {
    name: 'terraform_task_role_matches_c_code',
    doc: 'the worker task role grants exactly the AWS actions the C code calls',
    async run(ctx) {
      const errors = [];
      const notes = [];
      const mod = await ctx.module('terraform');
      const derived = deriveActions(workerSources(template.REPO), template.REPO);
      errors.push(...derived.errors);
      const called = derived.actions;
      const granted = new Map();
      for (const { doc, st } of policyStatements(mod)) {
        if (doc !== 'task') continue;
        if ((st.effect || 'Allow') !== 'Allow') continue;
        const acts = literalList(st.actions);
        if (!acts) { errors.push(`task role statement ${st.sid || '?'}: actions must be a literal list`); continue; }
        for (const a of acts) {
          if (!granted.has(a)) granted.set(a, []);
          granted.get(a).push(st);
        }
      }
      const expected = new Set();
      for (const a of called.keys()) if (!(a in OPERATOR_ONLY)) expected.add(a);
      for (const [p, needs] of Object.entries(PERMISSION_ONLY)) if (called.has(needs)) expected.add(p);
      for (const a of [...expected].sort()) {
        if (!granted.has(a)) errors.push(`the C code calls ${a} (${(called.get(a) || [PERMISSION_ONLY[a] ? `needed by ${PERMISSION_ONLY[a]}` : '?']).join(', ')}) but the task role does not grant it`);
      }
      for (const a of [...granted.keys()].sort()) {
        if (!expected.has(a)) errors.push(`the task role grants ${a} but the C code never calls it`);
      }
      for (const a of Object.keys(OPERATOR_ONLY)) {
        if (!called.has(a)) errors.push(`OPERATOR_ONLY lists ${a}, which the C code no longer calls: remove it from tests/infra/check_terraform.js`);
        if (granted.has(a)) errors.push(`the task role grants ${a}, reserved to operators (${OPERATOR_ONLY[a]})`);
      }
      for (const [a, sts] of granted) {
        const want = MUST_NAME[a] || (a.startsWith('dynamodb:') ? 'aws_dynamodb_table.' : null);
        if (!want) continue;
        for (const st of sts) {
          const res = JSON.stringify(st.resources);
          if (!res.includes(want)) errors.push(`task role ${a}: resources must name ${want}, are ${res}`);
        }
      }
      // The role the task definition uses is the one with this policy.
      const pol = mod.resources['aws_iam_role_policy.task'];
      if (!pol || pol.policy !== '${data.aws_iam_policy_document.task.json}' || pol.role !== '${aws_iam_role.task.id}') {
        errors.push('aws_iam_role_policy.task must attach data.aws_iam_policy_document.task to aws_iam_role.task');
      }
      const td = mod.resources['aws_ecs_task_definition.worker'];
      if (!td || td.task_role_arn !== '${aws_iam_role.task.arn}') errors.push('the worker task definition must use aws_iam_role.task');
      notes.push(`called: ${[...called.keys()].sort().join(' ')}`);
      notes.push(`not granted on purpose: ${Object.keys(OPERATOR_ONLY).join(' ')}`);
      return { errors, notes };
    },
  },
  {
    name: 'terraform_no_wildcard_where_narrower',
    doc: 'no IAM statement uses "*" (resource or action) where a narrower resource exists',
    async run(ctx) {
      const errors = [];
      const notes = [];
      const mod = await ctx.module('terraform');
      for (const { doc, st } of policyStatements(mod)) {
        const acts = literalList(st.actions);
        const where = `data.aws_iam_policy_document.${doc} statement ${st.sid || '(no sid)'}`;
        if (st.not_actions || st.not_resources) errors.push(`${where}: NotAction/NotResource are not allowed`);
        if (!acts) { errors.push(`${where}: actions must be a literal list`); continue; }
        for (const a of acts) if (a.includes('*')) errors.push(`${where}: wildcard action ${a}`);
        if (st.principals) continue; // trust policies
        const res = st.resources;
        const star = Array.isArray(res) ? res.includes('*') : res === '*';
        if (star && (st.effect || 'Allow') === 'Allow') {
          for (const a of acts) {
            if (!STAR_OK[a]) errors.push(`${where}: ${a} on "*", but IAM supports a narrower resource for it`);
            else notes.push(`${a}: "*" (${STAR_OK[a]})`);
          }
          if (Array.isArray(res) && res.length > 1) errors.push(`${where}: "*" together with other resources`);
        }
        if (!res && !st.principals) errors.push(`${where}: no resources`);
      }
      for (const [k, r] of Object.entries(mod.resources)) {
        if (k.startsWith('aws_iam_role_policy_attachment.') || k.startsWith('aws_iam_policy.')) {
          errors.push(`${k}: attach policies through data.aws_iam_policy_document so this check sees them`);
        }
        if (k.startsWith('aws_iam_role_policy.') && !/^\$\{data\.aws_iam_policy_document\.\w+\.json\}$/.test(r.policy)) {
          errors.push(`${k}: policy must be a data.aws_iam_policy_document`);
        }
        if (k.startsWith('aws_iam_role.') && (r.managed_policy_arns || r.inline_policy)) {
          errors.push(`${k}: no managed_policy_arns/inline_policy (use aws_iam_role_policy)`);
        }
      }
      return { errors, notes: [...new Set(notes)] };
    },
  },
  {
    name: 'terraform_event_targets',
    doc: 'rules send {"event": <whole event>, "dryRun": local.event_dry_run[each.key]} with a role that may only start this machine',
    async run(ctx) {
      const errors = [];
      const mod = await ctx.module('terraform');
      const targets = Object.entries(mod.resources).filter(([k]) => k.startsWith('aws_cloudwatch_event_target.'));
      if (targets.length === 0) errors.push('no aws_cloudwatch_event_target');
      for (const [k, t] of targets) {
        if (t.arn !== '${aws_sfn_state_machine.engine.arn}') errors.push(`${k}: target must be the engine state machine`);
        if (t.role_arn !== '${aws_iam_role.events.arn}') errors.push(`${k}: must use aws_iam_role.events`);
        const it = hcl.blocks(t.input_transformer)[0];
        const tpl = it && it.input_template;
        if (typeof tpl !== 'string') { errors.push(`${k}: needs an input_transformer with an input_template`); continue; }
        if (!tpl.includes('<aws.events.event.json>')) {
          errors.push(`${k}: input_template must send <aws.events.event.json> (the whole event; <aws.events.event> has no detail)`);
        }
        const probe = tpl.replace('<aws.events.event.json>', '{}').replace(/\$\{local\.event_dry_run\[each\.key\]\}/g, 'true');
        let j;
        try { j = JSON.parse(probe); } catch (e) { errors.push(`${k}: input_template is not JSON once filled: ${e.message}`); continue; }
        if (JSON.stringify(Object.keys(j).sort()) !== '["dryRun","event"]' || j.dryRun !== true || !tpl.includes('${local.event_dry_run[each.key]}')) {
          errors.push(`${k}: input_template must be {"event": <aws.events.event.json>, "dryRun": \${local.event_dry_run[each.key]}}`);
        }
      }
      const sts = [...policyStatements(mod)].filter((s) => s.doc === 'events');
      const ok = sts.length === 1 && JSON.stringify(sts[0].st.actions) === '["states:StartExecution"]' &&
        JSON.stringify(sts[0].st.resources) === '["${aws_sfn_state_machine.engine.arn}"]';
      if (!ok) errors.push('data.aws_iam_policy_document.events must be one statement: states:StartExecution on aws_sfn_state_machine.engine.arn');
      const pol = mod.resources['aws_iam_role_policy.events'];
      if (!pol || pol.policy !== '${data.aws_iam_policy_document.events.json}') errors.push('aws_iam_role_policy.events must attach data.aws_iam_policy_document.events');
      return { errors };
    },
  },
  {
    name: 'terraform_worker_settings',
    doc: 'the worker environment names only settings the C code reads and sets every docs/ACTIVITIES.md setting',
    async run(ctx) {
      const errors = [];
      const mod = await ctx.module('terraform');
      const env = mod.locals.worker_environment || {};
      const secrets = mod.locals.worker_secrets || {};
      const known = defaultsOfC();
      for (const k of Object.keys(env).concat(Object.keys(secrets))) {
        if (!known.has(k)) errors.push(`${k}: no C source reads this setting`);
      }
      // Settings without a default must be set; the others may be left to
      // the worker's default (or given through var.extra_environment).
      const table = activitiesSettings();
      if (Object.keys(table).length === 0) errors.push('docs/ACTIVITIES.md: no settings table found');
      for (const [k, def] of Object.entries(table)) {
        if (def === null && !(k in env) && !(k in secrets)) errors.push(`${k} (docs/ACTIVITIES.md, no default) is not set for the workers`);
      }
      for (const k of ['HEALER_SLACK_TOKEN', 'HEALER_JIRA_API_TOKEN']) {
        if (k in env) errors.push(`${k} must come from Secrets Manager (local.worker_secrets), not the environment`);
        if (!(k in secrets)) errors.push(`${k} must be an ECS secret`);
      }
      for (const req of ['HEALER_ACTIVITIES', 'AWS_REGION']) if (!(req in env)) errors.push(`${req} must be set`);
      if (!/activity_arn_prefix/.test(String(env.HEALER_ACTIVITY_ARN_PREFIX))) errors.push('HEALER_ACTIVITY_ARN_PREFIX must be local.activity_arn_prefix');
      // Drain before ECS kills: HEALER_DRAIN_DEADLINE_S < stopTimeout.
      const drain = Number(env.HEALER_DRAIN_DEADLINE_S);
      if (!(drain > 0 && drain < 120)) errors.push(`HEALER_DRAIN_DEADLINE_S (${env.HEALER_DRAIN_DEADLINE_S}) must be below the 120 s stopTimeout`);
      if (!/floor\(var\.heartbeat_seconds \/ 3\)/.test(String(env.HEALER_HEARTBEAT_S))) {
        errors.push('HEALER_HEARTBEAT_S must be a third of var.heartbeat_seconds (heartbeats well inside HeartbeatSeconds)');
      }
      // healer --help lists its settings: each must be known to the C scan.
      const bin = process.env.HEALER_BIN || path.join(template.REPO, 'build', 'healer');
      if (fs.existsSync(bin)) {
        const r = spawnSync(bin, ['--help'], { encoding: 'utf8', timeout: 10000 });
        for (const m of (r.stdout || '').matchAll(/\b(HEALER_[A-Z0-9_]+)\b/g)) {
          if (!known.has(m[1])) errors.push(`healer --help lists ${m[1]}, which the C scan does not know`);
        }
      }
      return { errors, notes: [`${Object.keys(env).length} environment variables, ${Object.keys(secrets).length} secrets`] };
    },
  },
  {
    name: 'terraform_worker_container',
    doc: 'the Fargate container: stopTimeout 120, healer health check, awslogs, non-root as in the Dockerfile, read-only root',
    async run(ctx) {
      const errors = [];
      const mod = await ctx.module('terraform');
      const td = mod.resources['aws_ecs_task_definition.worker'];
      if (!td) return { errors: ['no aws_ecs_task_definition.worker'] };
      const cd = String(td.container_definitions);
      const want = [
        [/stopTimeout\s*=\s*120\b/, 'stopTimeout = 120'],
        [/command\s*=\s*\["CMD", "\/usr\/local\/bin\/healer", "health"\]/, 'healthCheck command ["CMD", "/usr/local/bin/healer", "health"]'],
        [/logDriver\s*=\s*"awslogs"/, 'logDriver = "awslogs"'],
        [/readonlyRootFilesystem\s*=\s*true/, 'readonlyRootFilesystem = true'],
        [/user\s*=\s*local\.worker_user/, 'user = local.worker_user'],
        [/local\.worker_environment_all\[k\]/, 'environment from local.worker_environment_all'],
        [/valueFrom\s*=\s*local\.worker_secrets\[k\]/, 'secrets from local.worker_secrets'],
        [/initProcessEnabled\s*=\s*false/, 'initProcessEnabled = false (healer is PID 1)'],
      ];
      for (const [re, what] of want) if (!re.test(cd)) errors.push(`container definition: needs ${what}`);
      if (JSON.stringify(td.requires_compatibilities) !== '["FARGATE"]') errors.push('task definition must require FARGATE');
      const user = mod.locals.worker_user;
      if (typeof user !== 'string' || /^(0|root)(:|$)/.test(user)) errors.push(`local.worker_user must be a non-root uid:gid, is ${user}`);
      const dockerfile = path.join(template.REPO, 'Dockerfile');
      if (!fs.existsSync(dockerfile)) {
        errors.push('Dockerfile is missing');
      } else {
        const lines = fs.readFileSync(dockerfile, 'utf8').split('\n');
        const users = lines.filter((l) => /^USER\s+/.test(l)).map((l) => l.replace(/^USER\s+/, '').trim());
        if (users[users.length - 1] !== user) errors.push(`Dockerfile USER ${users[users.length - 1]} differs from the task definition's ${user}`);
        const hc = lines.find((l) => /^HEALTHCHECK\b/.test(l)) || '';
        if (!hc.includes('["/usr/local/bin/healer", "health"]')) errors.push('Dockerfile HEALTHCHECK must run ["/usr/local/bin/healer", "health"] like ECS');
      }
      const svc = mod.resources['aws_ecs_service.worker'];
      if (!svc || svc.launch_type !== 'FARGATE') errors.push('aws_ecs_service.worker must run on FARGATE');
      return { errors };
    },
  },
  {
    name: 'terraform_dynamodb_tables',
    doc: 'breaker (pk, TTL expires_at) and audit (execution/at, GSI resource-index, PITR) as docs/ACTIVITIES.md says',
    async run(ctx) {
      const errors = [];
      const mod = await ctx.module('terraform');
      const attrs = (t) => Object.fromEntries(hcl.blocks(t.attribute).map((a) => [a.name, a.type]));
      const b = mod.resources['aws_dynamodb_table.breaker'];
      if (!b) errors.push('no aws_dynamodb_table.breaker');
      else {
        if (b.hash_key !== 'pk' || attrs(b).pk !== 'S' || b.range_key) errors.push('breaker: hash key must be pk (S), no range key');
        const ttl = hcl.blocks(b.ttl)[0];
        if (!ttl || ttl.attribute_name !== 'expires_at' || ttl.enabled !== true) errors.push('breaker: TTL on expires_at must be enabled');
      }
      const a = mod.resources['aws_dynamodb_table.audit'];
      if (!a) errors.push('no aws_dynamodb_table.audit');
      else {
        const at = attrs(a);
        if (a.hash_key !== 'execution' || a.range_key !== 'at' || at.execution !== 'S' || at.at !== 'S') errors.push('audit: keys must be execution (S) / at (S)');
        const gsi = hcl.blocks(a.global_secondary_index).find((g) => g.name === 'resource-index');
        if (!gsi || gsi.hash_key !== 'resource' || gsi.range_key !== 'at' || at.resource !== 'S') errors.push('audit: GSI resource-index must be resource (S) / at (S)');
        const pitr = hcl.blocks(a.point_in_time_recovery)[0];
        if (!pitr || pitr.enabled !== true) errors.push('audit: point-in-time recovery must be enabled');
      }
      const env = mod.locals.worker_environment || {};
      if (env.HEALER_BREAKER_TABLE !== '${aws_dynamodb_table.breaker.name}') errors.push('HEALER_BREAKER_TABLE must be the breaker table');
      if (env.HEALER_AUDIT_TABLE !== '${aws_dynamodb_table.audit.name}') errors.push('HEALER_AUDIT_TABLE must be the audit table');
      return { errors };
    },
  },
  {
    name: 'terraform_fmt',
    doc: '`terraform fmt -check -recursive` (needs a terraform binary)',
    async run() {
      const tf = terraformBinary();
      if (!tf) return { skipped: 'no terraform binary installed' };
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-fmt-'));
      try {
        const r = spawnSync(tf, ['fmt', '-check', '-recursive', '-list=true', TF_ROOT], { encoding: 'utf8', env: tfEnv(tmp), timeout: 60000 });
        if (r.status === 0) return { errors: [] };
        const files = (r.stdout || '').split('\n').filter((l) => l.trim() && !l.startsWith('│') && !l.includes('CLI configuration'));
        return { errors: [`terraform fmt would change: ${files.join(', ') || r.stderr.trim()}`] };
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'terraform_console_renders_like_tests',
    doc: 'terraform console renders engine.asl.json exactly as lib/template.js (needs a terraform binary)',
    async run(ctx) {
      const tf = terraformBinary();
      if (!tf) return { skipped: 'no terraform binary installed' };
      const { ENGINE } = require('./check_asl');
      const vars = template.engineTestVars(await ctx.defaults());
      const hclVars = Object.entries(vars).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(', ');
      const expr = `jsonencode(jsondecode(templatefile(${JSON.stringify(ENGINE)}, { ${hclVars} })))\n`;
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-console-'));
      try {
        const r = spawnSync(tf, ['console'], { cwd: tmp, input: expr, encoding: 'utf8', env: tfEnv(tmp), timeout: 60000 });
        const line = (r.stdout || '').split('\n').map((l) => l.trim()).filter((l) => l.startsWith('"')).pop();
        if (r.status !== 0 || !line) return { errors: [`terraform console failed: ${(r.stderr || r.stdout || '').trim().slice(0, 500)}`] };
        const theirs = JSON.parse(JSON.parse(line).replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{'));
        const ours = JSON.parse(template.renderFile(ENGINE, vars));
        return { errors: deepEqual(theirs, ours) ? [] : ['terraform renders engine.asl.json differently from lib/template.js'] };
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },
  },
];

module.exports = { checks, STAR_OK, OPERATOR_ONLY };
