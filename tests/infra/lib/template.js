'use strict';
/* template.js - Terraform templatefile() rendering for the state machine
 * templates, without Terraform.
 *
 * Supports what statemachines/*.asl.json use and rejects the rest, so a
 * template that would render differently under Terraform fails here
 * instead of silently diverging:
 *   ${name}   interpolation of a variable (a plain identifier; spaces
 *             inside the braces allowed, as Terraform does)
 *   $${       a literal "${"    %%{   a literal "%{"
 * Any other ${...} expression or a %{...} directive is an error, and so is
 * a variable the vars map does not hold (Terraform: "vars map does not
 * contain key"). Numbers render as Terraform renders them (0.8 -> "0.8",
 * 60 -> "60"), booleans as true/false.
 *
 * tests/infra/check_terraform.js compares this with `terraform console`
 * when a terraform binary is installed.
 */

const fs = require('fs');
const path = require('path');

class TemplateError extends Error {}

function renderValue(name, v) {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TemplateError(`variable ${name}: not a finite number`);
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  throw new TemplateError(`variable ${name}: cannot render a ${v === null ? 'null' : typeof v} into a template`);
}

/* The placeholders of a template text, in order of first appearance. */
function placeholders(text) {
  const out = [];
  scan(text, (name) => {
    if (!out.includes(name)) out.push(name);
    return '';
  });
  return out;
}

function scan(text, onVar) {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '$' && text.startsWith('$${', i)) { out += '${'; i += 3; continue; }
    if (c === '%' && text.startsWith('%%{', i)) { out += '%{'; i += 3; continue; }
    if (c === '%' && text[i + 1] === '{') {
      throw new TemplateError(`line ${lineOf(text, i)}: template directives (%{...}) are not supported`);
    }
    if (c === '$' && text[i + 1] === '{') {
      const end = text.indexOf('}', i + 2);
      if (end < 0) throw new TemplateError(`line ${lineOf(text, i)}: unterminated \${`);
      const inner = text.slice(i + 2, end).trim();
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(inner)) {
        throw new TemplateError(`line ${lineOf(text, i)}: unsupported template expression \${${inner}}`);
      }
      out += onVar(inner, lineOf(text, i));
      i = end + 1;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

function lineOf(text, idx) {
  let n = 1;
  for (let k = 0; k < idx; k++) if (text.charCodeAt(k) === 10) n++;
  return n;
}

function render(text, vars) {
  return scan(text, (name, line) => {
    if (!Object.prototype.hasOwnProperty.call(vars, name)) {
      throw new TemplateError(`line ${line}: vars map does not contain key "${name}"`);
    }
    return renderValue(name, vars[name]);
  });
}

function renderFile(file, vars) {
  return render(fs.readFileSync(file, 'utf8'), vars);
}

/* The template's structure with every placeholder turned into the string
 * "@@name@@" (quoted or not in the source), so checks can see which
 * setting a field comes from. */
function shape(text) {
  const marked = scan(text, (name) => `@@${name}@@`);
  const quoted = marked.replace(/("(?:[^"\\]|\\.)*")|@@([A-Za-z_][A-Za-z0-9_]*)@@/g,
    (m, str, name) => (str !== undefined ? str : `"@@${name}@@"`));
  return JSON.parse(quoted);
}

// The repository checked: this one, or a copy (the pytest wrapper checks
// mutated copies to prove each check can fail).
const REPO = process.env.HEALER_INFRA_ROOT ? path.resolve(process.env.HEALER_INFRA_ROOT) : path.resolve(__dirname, '..', '..', '..');
const TEST_ACCOUNT = '123456789012';
const TEST_REGION = 'us-east-1';

/* Test values for the engine template: activity ARNs as the Terraform
 * module names them (<name>-<activity>), settings from the module's
 * variable defaults (passed in), overridable. */
function engineTestVars(defaults, overrides) {
  const name = defaults.name || 'healer';
  const vars = {};
  for (const act of ['guard', 'diagnose', 'remediate-disk', 'remediate-sg', 'renew-cert', 'ticket', 'notify', 'audit', 'recover']) {
    vars[`${act.replace(/-/g, '_')}_activity_arn`] =
      `arn:aws:states:${TEST_REGION}:${TEST_ACCOUNT}:activity:${name}-${act}`;
  }
  for (const k of ['confidence_threshold', 'heartbeat_seconds', 'task_timeout_seconds',
    'remediation_timeout_seconds', 'retry_max_attempts']) {
    if (defaults[k] !== undefined) vars[k] = defaults[k];
  }
  return Object.assign(vars, overrides || {});
}

module.exports = { TemplateError, render, renderFile, placeholders, shape, engineTestVars, REPO, TEST_ACCOUNT, TEST_REGION };
