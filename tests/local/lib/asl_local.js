'use strict';
/* asl_local.js - what the two local state machine interpreters share:
 * sfn_runner.js (one execution, or a batch, per process, for tests and
 * soaks) and sfn_executions.js (the local endpoint's StartExecution).
 *
 * The ASL semantics come from aws-local-stepfunctions 3.0.0. It declares
 * Node >= 22 and needs Promise.withResolvers; on Node 20 every Task state
 * fails without it, so requiring this module installs the polyfill first
 * (../../../shared/TOOLING.md). The rest is plain helpers over a parsed
 * definition and the library's event log.
 */

const path = require('path');

if (!Promise.withResolvers) {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new Promise((a, b) => { resolve = a; reject = b; });
    return { promise, resolve, reject };
  };
}

const REPO = path.resolve(__dirname, '..', '..', '..');
const { StateMachine } = require('aws-local-stepfunctions');
const template = require(path.join(REPO, 'tests', 'infra', 'lib', 'template'));
const hcl = require(path.join(REPO, 'tests', 'infra', 'lib', 'hcl'));

/* The library's state machine, validating ARNs and paths. */
function newStateMachine(def) {
  return new StateMachine(def, { validationOptions: { checkArn: true, checkPaths: true } });
}

/* Every state (Parallel branches and Map iterators included) by name, or
 * only those `keep` accepts. */
function statesOf(def, keep, out) {
  out = out || {};
  for (const [name, st] of Object.entries(def.States || {})) {
    if (!keep || keep(st)) out[name] = st;
    for (const b of st.Branches || []) statesOf(b, keep, out);
    if (st.ItemProcessor || st.Iterator) statesOf(st.ItemProcessor || st.Iterator, keep, out);
  }
  return out;
}

/* Every Task state by name. */
function taskStates(def) {
  return statesOf(def, (st) => st.Type === 'Task');
}

/* Every state by name. */
function allStates(def) {
  return statesOf(def, null);
}

/* An error the library hands to Retry and Catch as {Error: name, Cause}. */
function stateError(name, cause) {
  const e = new Error(cause || '');
  e.name = name;
  return e;
}

/* One event of the library's log, compact: {type, state, parent, error,
 * cause, attempt}; with withIO also the state's input (entered) and output
 * (exited). */
function compactEvent(ev, withIO) {
  const out = { type: ev.type };
  if (ev.state) out.state = ev.state.name;
  if (ev.parentState) out.parent = ev.parentState.name;
  if (ev.Error !== undefined) out.error = ev.Error;
  if (ev.Cause !== undefined) out.cause = typeof ev.Cause === 'string' ? ev.Cause : JSON.stringify(ev.Cause);
  if (ev.retry) out.attempt = ev.retry.attempt;
  if (withIO && ev.type === 'StateExited' && ev.state) out.output = ev.state.output;
  if (withIO && ev.type === 'StateEntered' && ev.state) out.input = ev.state.input;
  return out;
}

/* Waits for a running execution (StateMachine.run's answer) to end, for
 * at most timeoutS, or until `stop` (a promise, may be null) resolves:
 * {status: "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED", output}.
 * On a timeout or a stop, beforeAbort() (if given) runs, then the
 * execution is aborted. */
async function awaitExecution(exec, timeoutS, stop, beforeAbort) {
  let timer;
  const wall = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutS * 1000); });
  try {
    const r = await Promise.race([exec.result.then((out) => ({ out })), wall].concat(stop ? [stop] : []));
    if (r === 'timeout' || r === 'stopped') {
      if (beforeAbort) beforeAbort();
      exec.abort();
      return { status: r === 'timeout' ? 'TIMED_OUT' : 'ABORTED', output: null };
    }
    return { status: 'SUCCEEDED', output: r.out };
  } catch (e) {
    return { status: 'FAILED', output: null };
  } finally {
    clearTimeout(timer);
  }
}

module.exports = {
  REPO, template, hcl, newStateMachine, taskStates, allStates, stateError, compactEvent, awaitExecution,
};
