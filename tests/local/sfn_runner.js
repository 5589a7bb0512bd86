#!/usr/bin/env node
'use strict';
/* sfn_runner.js - runs a real state machine definition
 * (statemachines/engine.asl.json) against the local AWS endpoint, so the
 * workers serve its activities exactly as they would under Step Functions.
 *
 * The ASL semantics (Parameters/ResultPath, Choice, Retry with backoff,
 * Catch, Parallel, TimeoutSeconds, intrinsics) come from
 * aws-local-stepfunctions 3.0.0. Every Task state whose Resource is an
 * activity ARN gets a local handler that does what Step Functions does:
 * it puts the state's input on the activity's queue at the endpoint
 * (POST /_admin/tasks, with the state's HeartbeatSeconds and TimeoutSeconds,
 * which the endpoint enforces: the library ignores HeartbeatSeconds) and
 * waits for the task's settlement (GET /_admin/tasks): SendTaskSuccess
 * resolves with the output, SendTaskFailure rejects with its error and
 * cause, a timeout rejects with States.Timeout / States.HeartbeatTimeout, so
 * Retry and Catch apply to them. Each retry enqueues a new task (a new
 * token), as on AWS.
 *
 *   node tests/local/sfn_runner.js --endpoint URL
 *        (--definition FILE | --template FILE [--arn-prefix P] [--var K=V]...)
 *        (--input FILE | --input-json JSON)
 *        [--name NAME] [--retry-interval-ms N] [--poll-ms N] [--timeout-s N]
 *
 * --template renders like scripts/render-asl.js (Terraform variable
 * defaults, overridable). --retry-interval-ms replaces every Retry wait
 * (tests). Prints one JSON object: {"status": "SUCCEEDED" | "FAILED" |
 * "TIMED_OUT", "executionArn", "output", "error", "cause", "history":
 * [{"type", "state", ...}], "tasks": [{"state", "activityArn", "token",
 * "result", "error"}]}. Exit 0 when the run finished (whatever its status),
 * 2 on bad usage or an endpoint failure.
 *
 * Batch mode, for soaks (tests/soak/): many executions of one definition
 * in this one process, at most --concurrency N in flight at a time:
 *
 *   node tests/local/sfn_runner.js --endpoint URL (--definition F | --template F ...)
 *        --batch FILE [--concurrency N] [--settle-ms N] [--poll-ms N]
 *        [--timeout-s N] [--retry-interval-ms N]
 *
 * FILE holds one JSON object per line, {"name": NAME, "input": {...}}
 * (names unique; NAME becomes the execution ARN's last part). One JSON line
 * is printed per execution as it ends: the single-run object plus "name",
 * "startedAt" and "endedAt" (epoch ms); then a last line {"batch": {
 * "executions", "byStatus"}}. --timeout-s applies to each execution.
 * Instead of each task polling the endpoint, one tracker follows every open
 * task: each --poll-ms (default 200 here) it lists the queued and assigned
 * tasks of the activities being waited on (small lists); a task no longer in
 * them has settled, and its record is fetched from the settled lists, at
 * most every --settle-ms (default 500), stretched to ten times the last fetch
 * so that fetch stays a small share of the endpoint's time as tasks pile up.
 *
 * Node 20: aws-local-stepfunctions needs Promise.withResolvers (Node 22);
 * lib/asl_local.js installs the polyfill.
 */

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const {
  REPO, template, hcl, newStateMachine, taskStates, stateError, compactEvent, awaitExecution,
} = require('./lib/asl_local');

const ACTIVITY_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):(\d{12}):activity:[A-Za-z0-9_.-]+$/;
const ACTIVITIES = ['guard', 'diagnose', 'remediate-disk', 'remediate-sg', 'renew-cert', 'ticket', 'notify', 'audit'];

class UsageError extends Error {}

function parseArgs(argv) {
  const o = { vars: {}, pollMs: 50, timeoutS: 600, retryIntervalMs: null };
  const need = (i) => {
    if (i >= argv.length) throw new UsageError(`${argv[i - 1]} needs a value`);
    return argv[i];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--endpoint': o.endpoint = need(++i).replace(/\/+$/, ''); break;
      case '--definition': o.definition = need(++i); break;
      case '--template': o.template = need(++i); break;
      case '--arn-prefix': o.arnPrefix = need(++i); break;
      case '--var': {
        const kv = need(++i);
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new UsageError(`--var needs NAME=VALUE, got "${kv}"`);
        const v = kv.slice(eq + 1);
        o.vars[kv.slice(0, eq)] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v === 'true' ? true : v === 'false' ? false : v;
        break;
      }
      case '--input': o.input = JSON.parse(fs.readFileSync(need(++i), 'utf8')); break;
      case '--input-json': o.input = JSON.parse(need(++i)); break;
      case '--name': o.name = need(++i); break;
      case '--retry-interval-ms': o.retryIntervalMs = Number(need(++i)); break;
      case '--poll-ms': o.pollMs = Number(need(++i)); o.pollMsGiven = true; break;
      case '--timeout-s': o.timeoutS = Number(need(++i)); break;
      case '--batch': o.batch = need(++i); break;
      case '--concurrency': o.concurrency = Number(need(++i)); break;
      case '--settle-ms': o.settleMs = Number(need(++i)); break;
      default: throw new UsageError(`unknown argument ${a}`);
    }
  }
  if (!o.endpoint || !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(o.endpoint)) {
    throw new UsageError('--endpoint must be the local endpoint, http://127.0.0.1:PORT');
  }
  if (!!o.definition === !!o.template) throw new UsageError('give one of --definition or --template');
  if (o.batch !== undefined) {
    if (o.input !== undefined || o.name !== undefined) throw new UsageError('--batch takes its inputs and names from FILE');
    if (o.concurrency === undefined) o.concurrency = 50;
    if (!(Number.isInteger(o.concurrency) && o.concurrency >= 1)) throw new UsageError('--concurrency must be an integer >= 1');
    if (o.settleMs === undefined) o.settleMs = 500;
    if (!o.pollMsGiven) o.pollMs = 200;
    for (const [k, v] of [['--settle-ms', o.settleMs]]) {
      if (!(Number.isFinite(v) && v >= 0)) throw new UsageError(`${k} must be a number >= 0`);
    }
  } else if (o.concurrency !== undefined || o.settleMs !== undefined) {
    throw new UsageError('--concurrency and --settle-ms need --batch');
  }
  if (o.input === undefined && o.batch === undefined) throw new UsageError('give --input or --input-json');
  for (const [k, v] of [['--retry-interval-ms', o.retryIntervalMs], ['--poll-ms', o.pollMs], ['--timeout-s', o.timeoutS]]) {
    if (v !== null && !(Number.isFinite(v) && v >= 0)) throw new UsageError(`${k} must be a number >= 0`);
  }
  return o;
}

async function loadDefinition(o) {
  if (o.definition) return JSON.parse(fs.readFileSync(o.definition, 'utf8'));
  const mod = await hcl.loadModule(path.join(REPO, 'terraform'));
  const vars = template.engineTestVars(hcl.variableDefaults(mod));
  if (o.arnPrefix) for (const a of ACTIVITIES) vars[`${a.replace(/-/g, '_')}_activity_arn`] = o.arnPrefix + a;
  Object.assign(vars, o.vars);
  return JSON.parse(template.renderFile(o.template, vars));
}

/* --retry-interval-ms for every Task state and top-level state with a Retry. */
function retryOverridesOf(o, def, tasks) {
  const out = {};
  if (o.retryIntervalMs === null) return out;
  for (const [name, st] of Object.entries(tasks)) if (st.Retry) out[name] = o.retryIntervalMs;
  for (const [name, st] of Object.entries(def.States)) if (st.Retry && !out[name]) out[name] = o.retryIntervalMs;
  return out;
}

/* The answer of a settled task to the state machine, recorded in rec. */
function settled(rec, stateName, task) {
  const send = (task.sends || []).find((s) => s.accepted);
  if (task.state === 'succeeded') {
    rec.result = 'succeeded';
    return JSON.parse(send.output);
  }
  if (task.state === 'failed') {
    rec.result = 'failed';
    rec.error = send.error || 'States.TaskFailed';
    throw stateError(rec.error, send.cause || '');
  }
  rec.result = 'timed_out';
  rec.error = task.timeoutReason || 'States.Timeout';
  throw stateError(rec.error, `${stateName}: ${rec.error}`);
}

/* Puts a Task state's input on its activity's queue: the task's token and
 * its record in run.tasks. */
async function enqueue(o, stateName, st, input, run) {
  const body = { activityArn: st.Resource, inputs: [input] };
  if (st.HeartbeatSeconds) body.heartbeatSeconds = st.HeartbeatSeconds;
  if (st.TimeoutSeconds) body.timeoutSeconds = st.TimeoutSeconds;
  const { tokens } = await admin(o.endpoint, 'POST', '/_admin/tasks', body);
  const token = tokens[0];
  const rec = { state: stateName, activityArn: st.Resource, token: crypto.createHash('sha256').update(token).digest('hex').slice(0, 12) };
  run.tasks.push(rec);
  return { token, rec };
}

async function admin(endpoint, method, p, body) {
  const res = await fetch(endpoint + p, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`endpoint ${method} ${p}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : {};
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function activityHandler(o, stateName, st, run) {
  return async (input) => {
    const { token, rec } = await enqueue(o, stateName, st, input, run);
    const q = `/_admin/tasks?activityArn=${encodeURIComponent(st.Resource)}`;
    for (;;) {
      if (run.done) throw stateError('Runner.ExecutionEnded', 'the execution ended while this task was open');
      const task = (await admin(o.endpoint, 'GET', q)).tasks.find((t) => t.token === token);
      if (!task) throw new Error(`task of ${stateName} vanished from the endpoint (reset?)`);
      if (['succeeded', 'failed', 'timed_out'].includes(task.state)) return settled(rec, stateName, task);
      await sleep(o.pollMs);
    }
  };
}

/* Runs one execution to its end, or to o.timeoutS: the single-run result
 * ({status, executionArn, output, error, cause, history, tasks}) after the
 * members of `first`. ex: {sm, input, name, machine, region, account,
 * startedAt, handlers, retryOverrides, onEnd}. */
async function execute(o, ex, run, first) {
  const executionArn = `arn:aws:states:${ex.region}:${ex.account}:execution:${ex.machine}:${ex.name}`;
  const exec = ex.sm.run(ex.input, {
    overrides: { taskResourceLocalHandlers: ex.handlers, retryIntervalOverrides: ex.retryOverrides },
    context: {
      Execution: { Id: executionArn, Name: ex.name, Input: ex.input, StartTime: new Date(ex.startedAt).toISOString(), RoleArn: `arn:aws:iam::${ex.account}:role/${ex.machine}` },
      StateMachine: { Id: `arn:aws:states:${ex.region}:${ex.account}:stateMachine:${ex.machine}`, Name: ex.machine },
    },
  });
  const history = [];
  const collect = (async () => { for await (const ev of exec.eventLogs) history.push(compactEvent(ev, true)); })();
  const result = Object.assign(first || {}, { status: null, executionArn, output: null, error: null, cause: null });
  const end = await awaitExecution(exec, o.timeoutS, null);
  result.status = end.status;
  result.output = end.output;
  run.done = true;
  if (ex.onEnd) ex.onEnd();
  // The event log normally ends with the execution; the 2 s bound is for a
  // log that does not, and its timer must not keep the process alive.
  let logTimer;
  await Promise.race([collect, new Promise((r) => { logTimer = setTimeout(r, 2000); })]);
  clearTimeout(logTimer);
  const failed = history.find((h) => h.type === 'ExecutionFailed');
  if (failed) {
    result.error = failed.error;
    result.cause = failed.cause;
  }
  result.history = history;
  result.tasks = run.tasks;
  return result;
}

/* Batch mode: one tracker follows every open task of every execution. */
class Tracker {
  constructor(o) {
    this.o = o;
    this.waiting = new Map();   // token -> {arn, seq, resolve}
    this.seq = 0;
    this.lastFetch = 0;
    this.fetchEveryMs = o.settleMs;
    this.stopped = false;
  }

  /* Resolves with the task's record once it has settled, or with null if
   * forget() was called first (the execution ended). */
  wait(token, arn) {
    return new Promise((resolve) => { this.waiting.set(token, { arn, seq: ++this.seq, resolve }); });
  }

  forget(token) {
    const w = this.waiting.get(token);
    if (w) {
      this.waiting.delete(token);
      w.resolve(null);
    }
  }

  settle(task) {
    const w = this.waiting.get(task.token);
    if (w) {
      this.waiting.delete(task.token);
      w.resolve(task);
    }
  }

  async list(arn, state) {
    const q = `/_admin/tasks?state=${state}&activityArn=${encodeURIComponent(arn)}`;
    return (await admin(this.o.endpoint, 'GET', q)).tasks;
  }

  /* States only move queued -> assigned -> settled, so a token registered
   * before the queued list was taken and found in neither list has settled. */
  async turn() {
    const seqBefore = this.seq;
    const arns = new Set([...this.waiting.values()].map((w) => w.arn));
    const open = new Set();
    for (const arn of arns) {
      for (const state of ['queued', 'assigned']) for (const t of await this.list(arn, state)) open.add(t.token);
    }
    const settled = new Map();
    for (const [token, w] of this.waiting) {
      if (w.seq > seqBefore || open.has(token)) continue;
      if (!settled.has(w.arn)) settled.set(w.arn, new Set());
      settled.get(w.arn).add(token);
    }
    if (settled.size === 0 || Date.now() - this.lastFetch < this.fetchEveryMs) return;
    const t0 = Date.now();
    for (const [arn, need] of settled) {
      for (const state of ['failed', 'timed_out', 'succeeded']) {
        if (need.size === 0) break;
        for (const t of await this.list(arn, state)) {
          if (need.delete(t.token)) this.settle(t);
        }
      }
      for (const token of need) this.settle({ token, vanished: true });
    }
    this.lastFetch = Date.now();
    this.fetchEveryMs = Math.max(this.o.settleMs, 10 * (this.lastFetch - t0));
  }

  /* An admin call failing 20 times in a row (the endpoint is gone) ends it. */
  async loop() {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (this.waiting.size > 0) await this.turn();
        failures = 0;
      } catch (e) {
        if (++failures >= 20) throw e;
      }
      await sleep(this.o.pollMs);
    }
  }
}

function batchActivityHandler(o, stateName, st, run, tracker) {
  return async (input) => {
    if (run.done) throw stateError('Runner.ExecutionEnded', 'the execution ended before this task started');
    const { token, rec } = await enqueue(o, stateName, st, input, run);
    run.open.add(token);
    const task = await tracker.wait(token, st.Resource);
    run.open.delete(token);
    if (task === null) throw stateError('Runner.ExecutionEnded', 'the execution ended while this task was open');
    if (task.vanished) throw new Error(`task of ${stateName} vanished from the endpoint (reset?)`);
    return settled(rec, stateName, task);
  };
}

function readBatch(file) {
  const items = [];
  const names = new Set();
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let item;
    try {
      item = JSON.parse(line);
    } catch (e) {
      throw new UsageError(`${file}:${i + 1}: not JSON: ${e.message}`);
    }
    if (!item || typeof item.name !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(item.name)) {
      throw new UsageError(`${file}:${i + 1}: "name" must be 1..80 of [A-Za-z0-9_-]`);
    }
    if (names.has(item.name)) throw new UsageError(`${file}:${i + 1}: name ${item.name} repeated`);
    if (!('input' in item)) throw new UsageError(`${file}:${i + 1}: no "input"`);
    names.add(item.name);
    items.push(item);
  });
  return items;
}

async function runOne(o, sm, def, tasks, tracker, item, where) {
  const run = { tasks: [], done: false, open: new Set() };
  const handlers = {};
  for (const [name, st] of Object.entries(tasks)) handlers[name] = batchActivityHandler(o, name, st, run, tracker);
  const startedAt = Date.now();
  const result = await execute(o, {
    sm, input: item.input, name: item.name, machine: 'healer-engine', region: where.region, account: where.account,
    startedAt, handlers, retryOverrides: retryOverridesOf(o, def, tasks),
    onEnd: () => { for (const token of run.open) tracker.forget(token); },
  }, run, { name: item.name });
  result.startedAt = startedAt;
  result.endedAt = Date.now();
  return result;
}

async function mainBatch(o) {
  const items = readBatch(o.batch);
  const def = await loadDefinition(o);
  const tasks = taskStates(def);
  const where = { region: 'us-east-1', account: '123456789012' };
  for (const [name, st] of Object.entries(tasks)) {
    const m = ACTIVITY_ARN.exec(st.Resource || '');
    if (!m) throw new UsageError(`Task ${name}: Resource ${st.Resource} is not an activity ARN`);
    [, where.region, where.account] = m;
  }
  const sm = newStateMachine(def);
  const tracker = new Tracker(o);
  let trackerError = null;
  const trackerDone = tracker.loop().catch((e) => { trackerError = e; });
  const byStatus = {};
  let next = 0;
  const slot = async () => {
    while (next < items.length && trackerError === null) {
      const item = items[next++];
      const result = await runOne(o, sm, def, tasks, tracker, item, where);
      byStatus[result.status] = (byStatus[result.status] || 0) + 1;
      process.stdout.write(`${JSON.stringify(result)}\n`);
    }
  };
  const watchdog = setInterval(() => {
    /* A failing tracker (endpoint gone) would leave every task waiting. */
    if (trackerError !== null) for (const token of [...tracker.waiting.keys()]) tracker.forget(token);
  }, 200);
  try {
    await Promise.all(Array.from({ length: Math.min(o.concurrency, items.length) }, slot));
  } finally {
    clearInterval(watchdog);
    tracker.stopped = true;
    await trackerDone;
  }
  if (trackerError !== null) throw trackerError;
  process.stdout.write(`${JSON.stringify({ batch: { executions: items.length, byStatus } })}\n`);
  return 0;
}

async function main(argv) {
  const o = parseArgs(argv);
  if (o.batch !== undefined) return mainBatch(o);
  const def = await loadDefinition(o);
  const tasks = taskStates(def);
  const handlers = {};
  const run = { tasks: [], done: false };
  let region = 'us-east-1';
  let account = '123456789012';
  for (const [name, st] of Object.entries(tasks)) {
    const m = ACTIVITY_ARN.exec(st.Resource || '');
    if (!m) throw new UsageError(`Task ${name}: Resource ${st.Resource} is not an activity ARN`);
    [, region, account] = m;
    handlers[name] = activityHandler(o, name, st, run);
  }
  const evId = o.input && o.input.event && typeof o.input.event.id === 'string' ? o.input.event.id : null;
  const name = o.name || (evId ? `evt-${evId}` : `run-${crypto.randomUUID()}`);
  const result = await execute(o, {
    sm: newStateMachine(def), input: o.input, name, machine: 'healer-engine', region, account,
    startedAt: Date.now(), handlers, retryOverrides: retryOverridesOf(o, def, tasks),
  }, run);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
  process.stderr.write(`sfn_runner: ${e instanceof UsageError ? '' : 'error: '}${e.message}\n`);
  process.exitCode = 2;
});
