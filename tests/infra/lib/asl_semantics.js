'use strict';
/* asl_semantics.js - what the engine state machine must mean, beyond the
 * structure asl-validator checks.
 *
 * checkEngine(def, shape, flow) returns a list of error strings (empty =
 * fine). def is the rendered definition, shape the template with every
 * placeholder as "@@name@@" (template.js shape()), flow the expected flow
 * parsed from docs/ACTIVITIES.md (parseFlow). Rules:
 *   - every state is reachable from StartAt;
 *   - every Task: Resource is its activity's ARN placeholder; HeartbeatSeconds
 *     and TimeoutSeconds come from settings and HeartbeatSeconds <
 *     TimeoutSeconds; Retry covers States.Timeout, States.HeartbeatTimeout,
 *     Healer.WorkerShutdown and Healer.Throttled with 1..10 attempts,
 *     BackoffRate >= 1 and IntervalSeconds >= 1, and nothing retries
 *     Healer.InvalidInput (no States.ALL / States.TaskFailed retrier); the
 *     last Catch is States.ALL with ResultPath $.error, to Escalate at top
 *     level or, inside a Parallel branch, to a state of that branch that
 *     ends it;
 *   - top-level Tasks build their input with Parameters carrying
 *     execution ($$.Execution.Id), dryRun ($.dryRun) and the contract's
 *     fields, and store the output at the contract's ResultPath;
 *   - Record/Escalate branches give ticket/notify/audit the execution's
 *     data merged with {execution, mode};
 *   - every Choice has a Default, and checks IsPresent before reading a
 *     field (else a missing field fails the execution instead of taking
 *     the Default); Route compares confidence with the
 *     confidence_threshold setting;
 *   - the state names and transitions of docs/ACTIVITIES.md's flow exist.
 */

const RETRY_ON = ['States.Timeout', 'States.HeartbeatTimeout', 'Healer.WorkerShutdown', 'Healer.Throttled'];
const MAX_RETRY_ATTEMPTS = 10;

/* Which activity each Task state runs, and its contract (docs/ACTIVITIES.md). */
const TASKS = {
  Guard: { activity: 'guard', params: ['execution', 'dryRun', 'event'], resultPath: '$.guard' },
  Diagnose: { activity: 'diagnose', params: ['execution', 'dryRun', 'event'], resultPath: '$.diagnosis' },
  RemediateDisk: { activity: 'remediate_disk', params: ['execution', 'dryRun', 'diagnosis'], resultPath: '$.remediation' },
  RemediateSg: { activity: 'remediate_sg', params: ['execution', 'dryRun', 'diagnosis'], resultPath: '$.remediation' },
  RenewCert: { activity: 'renew_cert', params: ['execution', 'dryRun', 'diagnosis'], resultPath: '$.remediation' },
  Recover: { activity: 'recover', params: ['execution', 'dryRun', 'event'], resultPath: '$.recovery' },
  Ticket: { activity: 'ticket', record: 'Record' },
  Notify: { activity: 'notify', record: 'Record' },
  Audit: { activity: 'audit', record: 'Record' },
  EscalateTicket: { activity: 'ticket', record: 'Escalate' },
  EscalateNotify: { activity: 'notify', record: 'Escalate' },
  EscalateAudit: { activity: 'audit', record: 'Escalate' },
};
const RECORD_MODE = { Record: 'resolved', Escalate: 'escalated' };
const PARAM_SOURCE = { execution: '$$.Execution.Id', dryRun: '$.dryRun', event: '$.event', diagnosis: '$.diagnosis' };

/* All states with their scope: {name: {state, shape, scope, parent}}. scope
 * is null at top level, else the Parallel state's name. */
function collect(def, shape) {
  const out = {};
  const errors = [];
  (function walk(d, s, scope, parentStates) {
    for (const [name, st] of Object.entries(d.States || {})) {
      if (out[name]) errors.push(`state name ${name} is used twice`);
      out[name] = { state: st, shape: s && s.States ? s.States[name] : undefined, scope, siblings: d.States };
      if (st.Type === 'Parallel') {
        (st.Branches || []).forEach((b, i) => walk(b, out[name].shape && out[name].shape.Branches ? out[name].shape.Branches[i] : null, name, d.States));
      }
    }
  })(def, shape, null, null);
  return { states: out, errors };
}

function transitions(st) {
  const out = [];
  if (st.Next) out.push(st.Next);
  if (st.Default) out.push(st.Default);
  for (const c of st.Choices || []) if (c.Next) out.push(c.Next);
  for (const c of st.Catch || []) if (c.Next) out.push(c.Next);
  return out;
}

function reachability(def, errors, where) {
  const seen = new Set();
  const stack = [def.StartAt];
  while (stack.length) {
    const n = stack.pop();
    if (seen.has(n) || !def.States[n]) continue;
    seen.add(n);
    const st = def.States[n];
    stack.push(...transitions(st));
    if (st.Type === 'Parallel') (st.Branches || []).forEach((b, i) => reachability(b, errors, `${n} branch ${i + 1}`));
  }
  for (const n of Object.keys(def.States)) {
    if (!seen.has(n)) errors.push(`${n}: unreachable from ${where}'s StartAt`);
  }
}

const isPlaceholder = (v, name) => v === `@@${name}@@`;

function checkTask(name, info, states, errors) {
  const st = info.state;
  const sh = info.shape || {};
  const contract = TASKS[name];
  if (!contract) {
    errors.push(`${name}: Task state not in the activities contract (docs/ACTIVITIES.md)`);
    return;
  }
  if (!isPlaceholder(sh.Resource, `${contract.activity}_activity_arn`)) {
    errors.push(`${name}: Resource must be \${${contract.activity}_activity_arn}, is ${JSON.stringify(sh.Resource)}`);
  }
  const hb = st.HeartbeatSeconds;
  const to = st.TimeoutSeconds;
  if (typeof hb !== 'number' || typeof to !== 'number') {
    errors.push(`${name}: needs numeric HeartbeatSeconds and TimeoutSeconds`);
  } else if (!(hb < to)) {
    errors.push(`${name}: HeartbeatSeconds ${hb} must be below TimeoutSeconds ${to}`);
  }
  for (const k of ['HeartbeatSeconds', 'TimeoutSeconds']) {
    if (!(typeof sh[k] === 'string' && /^@@\w+@@$/.test(sh[k]))) errors.push(`${name}: ${k} must come from a setting placeholder`);
  }
  // Retry.
  const retry = st.Retry || [];
  for (const err of RETRY_ON) {
    const r = retry.find((x) => (x.ErrorEquals || []).includes(err));
    if (!r) { errors.push(`${name}: no Retry on ${err}`); continue; }
    const attempts = r.MaxAttempts === undefined ? 3 : r.MaxAttempts;
    if (!Number.isInteger(attempts) || attempts < 1 || attempts > MAX_RETRY_ATTEMPTS) {
      errors.push(`${name}: Retry on ${err} needs MaxAttempts between 1 and ${MAX_RETRY_ATTEMPTS}, has ${JSON.stringify(r.MaxAttempts)}`);
    }
    if (typeof r.BackoffRate !== 'number' || r.BackoffRate < 1) {
      errors.push(`${name}: Retry on ${err} needs an explicit BackoffRate >= 1`);
    }
    if (typeof r.IntervalSeconds !== 'number' || r.IntervalSeconds < 1) {
      errors.push(`${name}: Retry on ${err} needs IntervalSeconds >= 1`);
    }
    if (r.MaxDelaySeconds !== undefined && !(Number.isInteger(r.MaxDelaySeconds) && r.MaxDelaySeconds >= 1)) {
      errors.push(`${name}: Retry on ${err}: MaxDelaySeconds must be a whole number >= 1`);
    }
    if (r.JitterStrategy !== undefined && !['FULL', 'NONE'].includes(r.JitterStrategy)) {
      errors.push(`${name}: Retry on ${err}: JitterStrategy must be FULL or NONE`);
    }
  }
  for (const r of retry) {
    for (const e of r.ErrorEquals || []) {
      if (['States.ALL', 'States.TaskFailed', 'Healer.InvalidInput'].includes(e)) {
        errors.push(`${name}: Retry on ${e} would retry Healer.InvalidInput`);
      }
    }
  }
  // Catch.
  const catches = st.Catch || [];
  const last = catches[catches.length - 1];
  if (!last || JSON.stringify(last.ErrorEquals) !== '["States.ALL"]') {
    errors.push(`${name}: the last Catch must be States.ALL`);
  } else {
    if (last.ResultPath !== '$.error') errors.push(`${name}: Catch States.ALL must keep the error at $.error, has ${JSON.stringify(last.ResultPath)}`);
    if (info.scope === null) {
      if (last.Next !== 'Escalate') errors.push(`${name}: Catch States.ALL must go to Escalate, goes to ${last.Next}`);
    } else {
      const target = info.siblings[last.Next];
      if (!target) errors.push(`${name}: Catch goes to ${last.Next}, which is not in its branch`);
      else if (!(target.End === true || target.Type === 'Succeed' || target.Type === 'Fail')) {
        errors.push(`${name}: Catch target ${last.Next} must end the branch so the other branches go on`);
      }
    }
  }
  // Input and output per the contract.
  if (contract.params) {
    if (info.scope !== null) errors.push(`${name}: must be a top-level state`);
    const p = st.Parameters || {};
    const keys = Object.keys(p).map((k) => k.replace(/\.\$$/, '')).sort();
    if (JSON.stringify(keys) !== JSON.stringify([...contract.params].sort())) {
      errors.push(`${name}: Parameters must be exactly ${contract.params.join(', ')}; are ${keys.join(', ')}`);
    }
    for (const k of contract.params) {
      if (p[`${k}.$`] !== PARAM_SOURCE[k]) errors.push(`${name}: Parameters ${k} must be taken from ${PARAM_SOURCE[k]}`);
    }
    if (st.ResultPath !== contract.resultPath) errors.push(`${name}: ResultPath must be ${contract.resultPath}, is ${JSON.stringify(st.ResultPath)}`);
  } else {
    checkRecordTask(name, info, states, contract, errors);
  }
}

/* A Record/Escalate branch task: its input is the branch's first state, a
 * Pass merging the execution's data with {execution, mode}. */
function checkRecordTask(name, info, states, contract, errors) {
  if (info.scope !== contract.record) {
    errors.push(`${name}: must run inside the ${contract.record} Parallel state`);
    return;
  }
  const st = info.state;
  if (st.Parameters !== undefined || st.InputPath !== undefined) {
    errors.push(`${name}: must take its branch input unchanged (no Parameters/InputPath)`);
  }
  const par = states[contract.record].state;
  const meta = par.Parameters && par.Parameters.meta;
  if (!par.Parameters || par.Parameters['state.$'] !== '$' || !meta ||
      meta['execution.$'] !== '$$.Execution.Id' || meta.mode !== RECORD_MODE[contract.record]) {
    errors.push(`${contract.record}: Parameters must be {"meta": {"execution.$": "$$.Execution.Id", "mode": "${RECORD_MODE[contract.record]}"}, "state.$": "$"}`);
  }
  const feeder = Object.entries(info.siblings).find(([, s]) => s.Next === name);
  if (!feeder) {
    errors.push(`${name}: no state leads to it in its branch`);
    return;
  }
  const [fname, f] = feeder;
  if (f.Type !== 'Pass' || !f.Parameters || f.Parameters['input.$'] !== 'States.JsonMerge($.state, $.meta, false)' || f.OutputPath !== '$.input') {
    errors.push(`${fname}: must be a Pass giving ${name} States.JsonMerge($.state, $.meta, false) as its whole input`);
  }
}

function checkChoice(name, info, errors, thresholdName) {
  const st = info.state;
  if (!st.Default) errors.push(`${name}: Choice state has no Default`);
  // A comparison on a missing field fails the execution (States.Runtime)
  // instead of taking the Default: each needs an IsPresent before it.
  (st.Choices || []).forEach((c) => {
    const conds = c.And || [c];
    const present = new Set();
    for (const x of conds) {
      if (!x.Variable) continue;
      if (x.IsPresent === true) { present.add(x.Variable); continue; }
      if (!present.has(x.Variable)) errors.push(`${name}: rule to ${c.Next} reads ${x.Variable} without an IsPresent before it`);
    }
  });
  if (name === 'Route') {
    const sh = info.shape || {};
    (st.Choices || []).forEach((c, i) => {
      const rule = ((sh.Choices || [])[i] || {});
      const conds = rule.And || [rule];
      if (!conds.some((x) => x.Variable === '$.diagnosis.confidence' && isPlaceholder(x.NumericGreaterThanEquals, thresholdName))) {
        errors.push(`Route: rule to ${c.Next} must require $.diagnosis.confidence >= \${${thresholdName}}`);
      }
    });
  }
}

/* The flow block of docs/ACTIVITIES.md as chains of segments:
 * [[{names: [..], children: [..]}, ...], ...]. */
function parseFlow(markdown) {
  const m = /## Flow[^\n]*\n+```\n([\s\S]*?)```/.exec(markdown);
  if (!m) throw new Error('docs/ACTIVITIES.md: no ``` block under "## Flow"');
  const lines = [];
  for (const raw of m[1].split('\n')) {
    if (!raw.trim()) continue;
    if (/^\s+->/.test(raw) && lines.length) lines[lines.length - 1] += ` ${raw.trim()}`;
    else lines.push(raw.trim());
  }
  return lines.map((line) => line.split('->').map((seg) => {
    const kids = /\(([^)]*)\)/.exec(seg);
    const head = seg.replace(/\([^)]*\)/, '').trim();
    if (!/^[A-Z]\w*(\s*\|\s*[A-Z]\w*)*$/.test(head)) return null; // prose
    return {
      names: head.split('|').map((x) => x.trim()),
      children: kids ? kids[1].split(',').map((x) => x.trim()) : [],
    };
  }));
}

function checkFlow(flow, states, errors) {
  const has = (n) => Object.prototype.hasOwnProperty.call(states, n);
  for (const chain of flow) {
    for (let i = 0; i < chain.length; i++) {
      const seg = chain[i];
      if (!seg) continue;
      for (const n of seg.names) {
        if (!has(n)) { errors.push(`flow: state ${n} (docs/ACTIVITIES.md) is missing`); continue; }
        for (const c of seg.children) {
          const branchNames = Object.entries(states).filter(([, s]) => s.scope === n).map(([k]) => k);
          if (!branchNames.includes(c) && !branchNames.includes(`${n}${c}`)) {
            errors.push(`flow: ${n} must run ${c} in a branch`);
          }
        }
        const next = chain[i + 1];
        if (!next) continue;
        for (const t of next.names) {
          if (!transitions(states[n].state).includes(t)) errors.push(`flow: no transition ${n} -> ${t}`);
        }
      }
    }
  }
}

function checkEngine(def, shape, flow, opts) {
  opts = opts || {};
  const thresholdName = opts.thresholdName || 'confidence_threshold';
  const { states, errors } = collect(def, shape);
  reachability(def, errors, 'the machine');
  for (const [name, info] of Object.entries(states)) {
    const t = info.state.Type;
    if (t === 'Task') checkTask(name, info, states, errors);
    else if (t === 'Choice') checkChoice(name, info, errors, thresholdName);
    if (info.scope === null && (t === 'Choice' || t === 'Task')) {
      // Every way out of the happy path goes to Escalate.
      if (t === 'Choice' && info.state.Default !== 'Escalate') errors.push(`${name}: Default must be Escalate`);
    }
  }
  for (const n of ['Record', 'Escalate']) {
    const s = states[n];
    if (!s) continue;
    if (s.state.Type !== 'Parallel') { errors.push(`${n}: must be a Parallel state (Ticket, Notify, Audit)`); continue; }
    const last = (s.state.Catch || []).slice(-1)[0];
    if (!last || JSON.stringify(last.ErrorEquals) !== '["States.ALL"]') errors.push(`${n}: needs a Catch States.ALL`);
    else if (n === 'Record' && last.Next !== 'Escalate') errors.push('Record: Catch States.ALL must go to Escalate');
    else if (n === 'Escalate' && (!states[last.Next] || states[last.Next].state.Type !== 'Fail')) {
      errors.push('Escalate: Catch States.ALL must go to a Fail state (an escalation that cannot run must fail the execution)');
    }
  }
  for (const [name, info] of Object.entries(states)) {
    if (info.scope === null && info.state.Type === 'Task' && !(info.state.Parameters && info.state.Parameters['dryRun.$'] === '$.dryRun')) {
      errors.push(`${name}: must pass dryRun from $.dryRun`);
    }
  }
  if (flow) checkFlow(flow, states, errors);
  return errors;
}

module.exports = { checkEngine, parseFlow, RETRY_ON, TASKS };
