'use strict';
/* check_dashboard.js - terraform/dashboard.tf against what really exists.
 *
 * A CloudWatch dashboard accepts any metric name and then shows an empty
 * graph, so a typo or a metric the workers stopped emitting goes unseen.
 * The dashboard body is a jsonencode() expression that hcl2json leaves
 * unevaluated, so the file's text is read (comments removed): every metric
 * array starts with its namespace and metric name as string literals
 * (dashboard.tf says so), and outcome metrics are read with
 * SEARCH('{Namespace,Dim...} MetricName="Name"', ...). Rules:
 *   - Healer metric names are ones the C code emits: the "Name" entries of
 *     the EMF declarations in worker/metrics.c and the metric names passed
 *     to hl_outcome_metric() in activities/outcome_metrics.c; Healer
 *     dimension names are ones the C code declares;
 *   - AWS/States names are real Step Functions metrics (the fixed list
 *     below, from the Step Functions / CloudWatch documentation), activity
 *     metrics are per ActivityArn and execution metrics per StateMachineArn,
 *     with ARNs that come from the resources, not literals;
 *   - ECS/ContainerInsights metrics only while terraform/ecs.tf enables
 *     Container Insights on the cluster;
 *   - every metric issue 11 asks for has a widget.
 * Each error is `terraform/dashboard.tf:LINE: what is wrong`.
 */

const fs = require('fs');
const path = require('path');
const template = require('./lib/template');

const TF_ROOT = path.join(template.REPO, 'terraform');
const DASHBOARD = path.join(TF_ROOT, 'dashboard.tf');
const EMITTERS = ['worker/metrics.c', 'activities/outcome_metrics.c'];

/* Step Functions metrics in AWS/States (execution, activity, Lambda,
 * service integration, API and express/redrive metrics). */
const STATES_METRICS = new Set([
  'ExecutionTime', 'ExecutionThrottled', 'ExecutionsAborted', 'ExecutionsFailed',
  'ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsTimedOut', 'ExecutionsRedriven',
  'RedrivenExecutionsAborted', 'RedrivenExecutionsFailed', 'RedrivenExecutionsSucceeded',
  'RedrivenExecutionsTimedOut',
  'ActivityRunTime', 'ActivityScheduleTime', 'ActivityTime', 'ActivitiesFailed',
  'ActivitiesHeartbeatTimedOut', 'ActivitiesScheduled', 'ActivitiesStarted',
  'ActivitiesSucceeded', 'ActivitiesTimedOut',
  'LambdaFunctionRunTime', 'LambdaFunctionScheduleTime', 'LambdaFunctionTime',
  'LambdaFunctionsFailed', 'LambdaFunctionsScheduled', 'LambdaFunctionsStarted',
  'LambdaFunctionsSucceeded', 'LambdaFunctionsTimedOut',
  'ServiceIntegrationRunTime', 'ServiceIntegrationScheduleTime', 'ServiceIntegrationTime',
  'ServiceIntegrationsFailed', 'ServiceIntegrationsScheduled', 'ServiceIntegrationsStarted',
  'ServiceIntegrationsSucceeded', 'ServiceIntegrationsTimedOut',
  'ThrottledEvents', 'ProvisionedBucketSize', 'ProvisionedRefillRate', 'ConsumedCapacity',
]);

/* ECS Container Insights service-level metrics. */
const CONTAINER_INSIGHTS_METRICS = new Set([
  'RunningTaskCount', 'PendingTaskCount', 'DesiredTaskCount', 'DeploymentCount',
  'TaskSetCount', 'CpuUtilized', 'CpuReserved', 'MemoryUtilized', 'MemoryReserved',
  'NetworkRxBytes', 'NetworkTxBytes', 'StorageReadBytes', 'StorageWriteBytes',
]);

/* What issue 11 asks the dashboard to show: [namespace, metric, why]. */
const REQUIRED = [
  ['AWS/States', 'ActivitiesScheduled', 'activity backlog (scheduled - started)'],
  ['AWS/States', 'ActivitiesStarted', 'activity backlog (scheduled - started)'],
  ['AWS/States', 'ActivityScheduleTime', 'schedule-to-start latency per activity'],
  ['Healer', 'TasksSucceeded', 'tasks succeeded'],
  ['Healer', 'TasksFailed', 'tasks failed'],
  ['AWS/States', 'ExecutionsSucceeded', 'executions succeeded'],
  ['AWS/States', 'ExecutionsFailed', 'executions failed'],
  ['Healer', 'Remediations', 'remediations by class and result'],
  ['Healer', 'Escalations', 'escalations'],
  ['Healer', 'BreakerTrips', 'breaker trips'],
  ['Healer', 'BlastRadiusStopped', 'blast-radius state'],
  ['Healer', 'Workers', 'worker count'],
  ['Healer', 'BusySlots', 'busy slots'],
  ['Healer', 'OpenPolls', 'open polls'],
];

function rel(p) { return path.relative(template.REPO, p); }

/* The text with comments blanked (line numbers kept); strings are kept. */
function stripComments(text) {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"' && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function lineOf(text, index) {
  return text.slice(0, index).split('\n').length;
}

/* Metric and dimension names the C code emits. */
function emitted(root) {
  const metrics = new Map();   // name -> file
  const dims = new Set();
  for (const f of EMITTERS) {
    const file = path.join(root, f);
    if (!fs.existsSync(file)) continue;
    const src = fs.readFileSync(file, 'utf8');
    for (const m of src.matchAll(/\\"Name\\":\\"([A-Za-z0-9_]+)\\"/g)) metrics.set(m[1], f);
    for (const m of src.matchAll(/\bhl_outcome_metric\(\s*"([A-Za-z0-9_]+)"/g)) metrics.set(m[1], f);
    for (const m of src.matchAll(/\\"Dimensions\\":\[\[((?:\\"[A-Za-z0-9_]+\\",?)*)\]\]/g)) {
      for (const d of m[1].matchAll(/\\"([A-Za-z0-9_]+)\\"/g)) dims.add(d[1]);
    }
    /* hl_metric_dim initialisers: { "Class", hl_metric_class(cls) } */
    for (const m of src.matchAll(/\{\s*"([A-Z][A-Za-z0-9_]*)"\s*,\s*(?:hl_|name\b)/g)) dims.add(m[1]);
  }
  return { metrics, dims };
}

/* Metric arrays ["Namespace", "Metric", dims...] and SEARCH expressions. */
function metricRefs(text) {
  const refs = [];
  const errors = [];
  // A metric array: "[" then a string literal that looks like a namespace.
  const arr = /\[\s*"((?:AWS|ECS|Healer)[A-Za-z0-9/_.-]*|\.)"\s*,\s*("([^"]*)"|[^,\]\s]+)/g;
  for (const m of text.matchAll(arr)) {
    const line = lineOf(text, m.index);
    if (m[1] === '.') {
      errors.push(`${line}: a metric array uses the "." shorthand: write the namespace and metric name out`);
      continue;
    }
    if (m[3] === undefined) {
      errors.push(`${line}: ${m[1]} metric name ${m[2]} is an expression: write it as a string literal`);
      continue;
    }
    // The rest of the array up to its closing bracket (dimension pairs).
    let depth = 0;
    let end = m.index;
    for (; end < text.length; end++) {
      if (text[end] === '[') depth++;
      else if (text[end] === ']' && --depth === 0) break;
    }
    refs.push({ ns: m[1], name: m[3], line, body: text.slice(m.index, end + 1), search: false });
  }
  const search = /SEARCH\('\{([^}]*)\}\s*MetricName=\\"([^\\"]*)\\"/g;
  for (const m of text.matchAll(search)) {
    const parts = m[1].split(',').map((s) => s.trim());
    refs.push({ ns: parts[0], name: m[2], dims: parts.slice(1), line: lineOf(text, m.index), search: true });
  }
  return { refs, errors };
}

/* The dimension pairs of a metric array: [[name, value expression]]. */
function dimPairs(body) {
  const inner = body.slice(1, -1);
  const items = [];
  let depth = 0;
  let cur = '';
  let inStr = false;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (inStr) {
      cur += c;
      if (c === '\\') cur += inner[++i];
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') inStr = true;
    if ('[{('.includes(c)) depth++;
    if (']})'.includes(c)) depth--;
    if (c === ',' && depth === 0) {
      items.push(cur.trim());
      cur = '';
    } else {
      cur += c;
    }
  }
  if (cur.trim()) items.push(cur.trim());
  const pairs = [];
  for (let i = 2; i + 1 < items.length; i += 2) {
    if (items[i].startsWith('{')) break;
    pairs.push([items[i].replace(/^"|"$/g, ''), items[i + 1]]);
  }
  return pairs;
}

function containerInsightsEnabled(root) {
  const file = path.join(root, 'terraform', 'ecs.tf');
  if (!fs.existsSync(file)) return false;
  const text = stripComments(fs.readFileSync(file, 'utf8'));
  return /setting\s*\{\s*name\s*=\s*"containerInsights"\s*value\s*=\s*"(enabled|enhanced)"/.test(text);
}

async function checkDashboard(ctx) {
  const errors = [];
  const where = rel(DASHBOARD);
  if (!fs.existsSync(DASHBOARD)) return { errors: [`${where}: missing`] };
  const mod = await ctx.module('terraform');
  const dashboards = Object.keys(mod.resources).filter((k) => k.startsWith('aws_cloudwatch_dashboard.'));
  if (dashboards.length !== 1) errors.push(`${where}: expected one aws_cloudwatch_dashboard, found ${dashboards.length}`);

  const text = stripComments(fs.readFileSync(DASHBOARD, 'utf8'));
  const { refs, errors: syntax } = metricRefs(text);
  for (const e of syntax) errors.push(`${where}:${e}`);
  const { metrics: cMetrics, dims: cDims } = emitted(template.REPO);
  const known = [...cMetrics.keys()].sort().join(', ');
  const insights = containerInsightsEnabled(template.REPO);
  const seen = new Set();

  for (const r of refs) {
    const at = `${where}:${r.line}`;
    seen.add(`${r.ns}/${r.name}`);
    if (r.ns === 'Healer') {
      if (!cMetrics.has(r.name)) {
        errors.push(`${at}: Healer metric "${r.name}" is not emitted by the worker (${EMITTERS.join(', ')} emit: ${known})`);
      }
      const dims = r.search ? r.dims : dimPairs(r.body).map((p) => p[0]);
      for (const d of dims) {
        if (!cDims.has(d)) errors.push(`${at}: Healer metric "${r.name}": dimension "${d}" is not one the worker declares (${[...cDims].sort().join(', ')})`);
      }
    } else if (r.ns === 'AWS/States') {
      if (!STATES_METRICS.has(r.name)) {
        errors.push(`${at}: AWS/States has no metric "${r.name}" (Step Functions metrics: ${[...STATES_METRICS].join(', ')})`);
        continue;
      }
      if (r.search) continue;
      const pairs = dimPairs(r.body);
      const want = /^Activit/.test(r.name) ? 'ActivityArn' : /^(Execution|RedrivenExecution)/.test(r.name) ? 'StateMachineArn' : null;
      if (!want) continue;
      const pair = pairs.find((p) => p[0] === want);
      if (!pair) errors.push(`${at}: AWS/States ${r.name} needs the dimension ${want}`);
      else if (pair[1].startsWith('"')) errors.push(`${at}: AWS/States ${r.name}: ${want} is a literal; take it from the resource (aws_sfn_activity.this / aws_sfn_state_machine.engine)`);
    } else if (r.ns === 'ECS/ContainerInsights') {
      if (!CONTAINER_INSIGHTS_METRICS.has(r.name)) errors.push(`${at}: ECS/ContainerInsights has no metric "${r.name}"`);
      if (!insights) errors.push(`${at}: ECS/ContainerInsights ${r.name}, but terraform/ecs.tf does not enable Container Insights on the cluster`);
    } else {
      errors.push(`${at}: namespace "${r.ns}" is not one this check knows (Healer, AWS/States, ECS/ContainerInsights)`);
    }
  }
  for (const [ns, name, why] of REQUIRED) {
    if (!seen.has(`${ns}/${name}`)) errors.push(`${where}: no widget shows ${ns} ${name} (issue 11: ${why})`);
  }
  const activityArns = /for\s+\w+\s*,\s*\w+\s+in\s+local\.activity_names[\s\S]*?aws_sfn_activity\.this\[/.test(text);
  if (!activityArns) errors.push(`${where}: activity ARNs must come from aws_sfn_activity.this over local.activity_names`);
  return { errors, notes: [`${refs.length} metric references; the worker emits ${cMetrics.size} Healer metrics`] };
}

const checks = [
  {
    name: 'terraform_dashboard_metrics',
    doc: 'dashboard.tf names only metrics the worker emits and real AWS/States metrics, and shows every metric issue 11 asks for',
    run: checkDashboard,
  },
];

module.exports = { checks, STATES_METRICS, stripComments };
