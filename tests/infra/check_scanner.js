'use strict';
/* check_scanner.js - lib/c_actions.js on small C sources whose answer is
 * known, so the task-role check can be trusted: literals, wrappers that
 * pass the service and operation through (pairs stay paired), conditionals,
 * local variables, and the shapes it must refuse to guess. */

const fs = require('fs');
const os = require('os');
const path = require('path');
const { deriveActions } = require('./lib/c_actions');

const CASES = [
  ['a literal call', {
    'a.c': 'int f(void) { return hl_aws_call(c, &hl_svc_ssm, "SendCommand", in, &out, NULL, &err); }',
  }, ['ssm:SendCommand'], []],
  ['comments and strings are not calls', {
    'a.c': '/* hl_aws_call(c, &hl_svc_acm, "RenewCertificate", ...) */\nint f(void) { const char *s = "hl_aws_call(c, &hl_svc_acm, \\"X\\")"; // hl_aws_call(c, &hl_svc_acm, "Y")\n return 0; }',
  }, [], []],
  ['a wrapper keeps service and operation paired', {
    'a.c': 'static int call(hl_aws_conn *c, const hl_aws_service *svc, const char *op) { return hl_aws_call_raw(c, svc, op, b, n, &o, NULL, &e); }\n'
      + 'int g(void) { return call(c, &hl_svc_dynamodb, "PutItem") + call(c, &hl_svc_tagging, "GetResources"); }',
  }, ['dynamodb:PutItem', 'tag:GetResources'], []],
  ['a conditional and a local variable', {
    'a.c': 'int f(int ok) { const char *op = ok ? "SendTaskSuccess" : "SendTaskFailure"; const hl_aws_service *s = &hl_svc_sfn; return hl_aws_call(c, s, op, i, &o, NULL, &e); }',
  }, ['states:SendTaskFailure', 'states:SendTaskSuccess'], []],
  ['a non-static wrapper called from another file', {
    'a.c': 'int wrap(const char *op) { return hl_aws_prepare(c, &hl_svc_sfn, op, b, n, &p, &e); }',
    'b.c': 'int g(void) { return wrap("GetActivityTask"); }',
  }, ['states:GetActivityTask'], []],
  ['a table lookup is refused', {
    'a.c': 'static const char *ops[] = { "GetItem" };\nint f(int i) { return hl_aws_call(c, &hl_svc_dynamodb, ops[i], in, &o, NULL, &e); }',
  }, [], ['a.c:2 (f): cannot derive the op from `ops[i]`']],
  ['a macro hiding the call is refused', {
    'a.c': '#define DDB(op) hl_aws_call(c, &hl_svc_dynamodb, op, in, &o, NULL, &e)\nint f(void) { return DDB("GetItem"); }',
  }, [], ['a.c:1: a macro wraps hl_aws_call: call it directly so its service and operation can be derived']],
  ['an unknown service is refused', {
    'a.c': 'int f(void) { return hl_aws_call(c, &hl_svc_ec2, "DescribeInstances", in, &o, NULL, &e); }',
  }, [], ['a.c:1: unknown service hl_svc_ec2 (add it to SERVICE_PREFIX in tests/infra/lib/c_actions.js)']],
];

const checks = [
  {
    name: 'c_action_scanner_rules',
    doc: 'the C scan derives the right actions from known sources and refuses to guess',
    async run() {
      const errors = [];
      for (const [what, files, wantActions, wantErrors] of CASES) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cscan-'));
        try {
          const paths = Object.entries(files).map(([n, src]) => {
            fs.writeFileSync(path.join(dir, n), src);
            return path.join(dir, n);
          });
          const r = deriveActions(paths, dir);
          const got = [...r.actions.keys()].sort();
          if (JSON.stringify(got) !== JSON.stringify(wantActions)) errors.push(`${what}: actions ${JSON.stringify(got)}, expected ${JSON.stringify(wantActions)}`);
          if (JSON.stringify(r.errors) !== JSON.stringify(wantErrors)) errors.push(`${what}: errors ${JSON.stringify(r.errors)}, expected ${JSON.stringify(wantErrors)}`);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }
      return { errors, notes: [`${CASES.length} cases`] };
    },
  },
];

module.exports = { checks };
