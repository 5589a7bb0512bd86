#!/usr/bin/env node
'use strict';
/* sfn_executions.js - the interpreter behind the local endpoint's
 * StartExecution (tests/local/services/sfn_executions.py starts it and is
 * its only client). One process runs every execution of every registered
 * state machine concurrently, so 25 executions cost one Node process, not
 * 25 (tests/local/sfn_runner.js is the one-execution-per-process tool).
 *
 * ASL semantics (Parameters/ResultPath, Choice, Retry with backoff, Catch,
 * Parallel, TimeoutSeconds, intrinsics) come from aws-local-stepfunctions
 * 3.0.0, as in sfn_runner.js; rendering and the execution context follow
 * sfn_runner.js too (execution ARN arn:...:execution:<machine>:<name>).
 * Every Task state must name an activity: its handler asks the parent to
 * enqueue the state's input on that activity (with the state's
 * HeartbeatSeconds and TimeoutSeconds, which the endpoint enforces) and
 * waits for the parent to report the task's settlement, so workers serve
 * the task exactly as under Step Functions. Nothing here opens a socket.
 *
 * Protocol: one JSON object per line on stdin (from the parent) and stdout
 * (to it). Parent -> here:
 *   {"op": "define", "id", "machine", "template" | "definition",
 *    "arnPrefix"?, "vars"?, "retryIntervalMs"?}
 *        -> {"op": "defined", "id", "ok": true} | {"op": "defined", "id",
 *           "ok": false, "error"}
 *   {"op": "start", "executionArn", "machine", "name", "input",
 *    "startTime", "stateMachineArn", "timeoutS"}
 *        -> later {"op": "done", "executionArn", "status": "SUCCEEDED" |
 *           "FAILED" | "TIMED_OUT" | "ABORTED", "output", "error", "cause",
 *           "history": [...]}
 *   {"op": "stop", "executionArn"}          aborts a running execution
 *   {"op": "taskDone", "id", "state": "succeeded" | "failed" | "timed_out"
 *    | "vanished", "output"?, "error"?, "cause"?, "timeoutReason"?}
 * Here -> parent, for each Task state entered:
 *   {"op": "task", "id", "executionArn", "state", "activityArn", "input",
 *    "heartbeatSeconds", "timeoutSeconds"}
 * The process exits when stdin closes (its parent is gone).
 *
 * Node 20: aws-local-stepfunctions needs Promise.withResolvers (Node 22):
 * lib/asl_local.js installs it.
 */

const path = require('path');
const readline = require('readline');
const {
  REPO, template, hcl, newStateMachine, taskStates, allStates, stateError, compactEvent, awaitExecution,
} = require('./lib/asl_local');

const ACTIVITY_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:activity:[A-Za-z0-9_.-]+$/;

const machines = new Map();   // name -> {def, tasks, retryOverrides}
const running = new Map();    // executionArn -> {exec, done, status}
const waiting = new Map();    // task id -> {resolve, reject, executionArn}
let nextTaskId = 1;
let defaultsPromise = null;

function send(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

async function terraformDefaults() {
  if (!defaultsPromise) {
    defaultsPromise = hcl.loadModule(path.join(REPO, 'terraform')).then((m) => hcl.variableDefaults(m));
  }
  return defaultsPromise;
}

async function define(msg) {
  let def;
  if (msg.definition) {
    def = typeof msg.definition === 'string' ? JSON.parse(msg.definition) : msg.definition;
  } else {
    const file = path.resolve(REPO, msg.template);
    if (!file.startsWith(REPO + path.sep)) throw new Error('template must be a file of the repository');
    const text = require('fs').readFileSync(file, 'utf8');
    const vars = template.engineTestVars(await terraformDefaults());
    if (msg.arnPrefix) {
      for (const p of template.placeholders(text)) {
        const m = /^(\w+)_activity_arn$/.exec(p);
        if (m) vars[p] = msg.arnPrefix + m[1].replace(/_/g, '-');
      }
    }
    Object.assign(vars, msg.vars || {});
    def = JSON.parse(template.render(text, vars));
  }
  const tasks = taskStates(def);
  for (const [name, st] of Object.entries(tasks)) {
    if (!ACTIVITY_ARN.test(st.Resource || '')) throw new Error(`Task ${name}: Resource ${st.Resource} is not an activity ARN`);
  }
  const retryOverrides = {};
  if (typeof msg.retryIntervalMs === 'number') {
    for (const [name, st] of Object.entries(allStates(def))) if (st.Retry) retryOverrides[name] = msg.retryIntervalMs;
  }
  const sm = newStateMachine(def);
  machines.set(msg.machine, { def, sm, tasks, retryOverrides });
}

function handlers(executionArn, tasks) {
  const out = {};
  for (const [name, st] of Object.entries(tasks)) {
    out[name] = (input) => new Promise((resolve, reject) => {
      const r = running.get(executionArn);
      if (!r || r.done) {
        reject(stateError('Runner.ExecutionEnded', 'the execution ended'));
        return;
      }
      const id = nextTaskId++;
      waiting.set(id, { resolve, reject, executionArn });
      send({
        op: 'task', id, executionArn, state: name, activityArn: st.Resource,
        input: JSON.stringify(input), heartbeatSeconds: st.HeartbeatSeconds || null,
        timeoutSeconds: st.TimeoutSeconds || null,
      });
    });
  }
  return out;
}

function taskDone(msg) {
  const w = waiting.get(msg.id);
  if (!w) return;
  waiting.delete(msg.id);
  if (msg.state === 'succeeded') {
    try {
      w.resolve(JSON.parse(msg.output));
    } catch (e) {
      w.reject(stateError('States.Runtime', `task output is not JSON: ${e.message}`));
    }
  } else if (msg.state === 'failed') {
    w.reject(stateError(msg.error || 'States.TaskFailed', msg.cause || ''));
  } else if (msg.state === 'timed_out') {
    const reason = msg.timeoutReason || 'States.Timeout';
    w.reject(stateError(reason, reason));
  } else {
    w.reject(stateError('Runner.TaskVanished', 'the task vanished from the endpoint (reset?)'));
  }
}

async function start(msg) {
  const m = machines.get(msg.machine);
  const rec = { done: false, exec: null };
  running.set(msg.executionArn, rec);
  const result = { op: 'done', executionArn: msg.executionArn, status: null, output: null, error: null, cause: null, history: [] };
  if (!m) {
    result.status = 'FAILED';
    result.error = 'Runner.NoSuchMachine';
    result.cause = `state machine ${msg.machine} is not defined`;
    send(result);
    running.delete(msg.executionArn);
    return;
  }
  const account = (/^arn:[^:]+:states:[^:]+:(\d{12}):/.exec(msg.executionArn) || [])[1];
  const exec = m.sm.run(msg.input, {
    overrides: { taskResourceLocalHandlers: handlers(msg.executionArn, m.tasks), retryIntervalOverrides: m.retryOverrides },
    context: {
      Execution: { Id: msg.executionArn, Name: msg.name, Input: msg.input, StartTime: msg.startTime, RoleArn: `arn:aws:iam::${account}:role/${msg.machine}` },
      StateMachine: { Id: msg.stateMachineArn, Name: msg.machine },
    },
  });
  rec.exec = exec;
  const collect = (async () => {
    for await (const ev of exec.eventLogs) result.history.push(compactEvent(ev));
  })().catch(() => {});
  const stopped = new Promise((resolve) => { rec.stop = () => resolve('stopped'); });
  const end = await awaitExecution(exec, msg.timeoutS || 600, stopped, () => { rec.done = true; });
  result.status = end.status;
  result.output = end.output;
  rec.done = true;
  await Promise.race([collect, new Promise((r) => setTimeout(r, 1000))]);
  const failed = result.history.find((h) => h.type === 'ExecutionFailed');
  if (failed && result.status === 'FAILED') {
    result.error = failed.error;
    result.cause = failed.cause;
  }
  for (const [id, w] of waiting) {
    if (w.executionArn === msg.executionArn) {
      waiting.delete(id);
      w.reject(stateError('Runner.ExecutionEnded', 'the execution ended while this task was open'));
    }
  }
  running.delete(msg.executionArn);
  send(result);
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  if (!line.trim()) return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (e) {
    process.stderr.write(`sfn_executions: bad line: ${e.message}\n`);
    return;
  }
  if (msg.op === 'define') {
    define(msg).then(() => send({ op: 'defined', id: msg.id, ok: true }),
      (e) => send({ op: 'defined', id: msg.id, ok: false, error: e.message }));
  } else if (msg.op === 'start') {
    start(msg).catch((e) => {
      send({ op: 'done', executionArn: msg.executionArn, status: 'FAILED', error: 'Runner.Error', cause: e.message, history: [] });
    });
  } else if (msg.op === 'stop') {
    const r = running.get(msg.executionArn);
    if (r && r.stop) r.stop();
  } else if (msg.op === 'taskDone') {
    taskDone(msg);
  }
});
rl.on('close', () => process.exit(0));
process.on('unhandledRejection', (e) => {
  process.stderr.write(`sfn_executions: unhandled rejection: ${e && e.stack ? e.stack : e}\n`);
});
