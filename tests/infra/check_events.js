'use strict';
/* check_events.js - the EventBridge rules against the event fixtures
 * (tests/fixtures/events, a copy of the team's ../shared/fixtures/events).
 *
 * The patterns are terraform/events.tf's local.event_patterns with the
 * variable defaults filled in; lib/event_pattern.js applies EventBridge's
 * matching rules. EXPECTED says which rule each fixture must start (null:
 * none); a fixture missing from EXPECTED fails the check, so a new fixture
 * forces a decision. The matcher's own rules are checked on small
 * documented cases first.
 */

const fs = require('fs');
const path = require('path');
const { matches, PatternError } = require('./lib/event_pattern');
const { resolveRefs } = require('./lib/hcl');
const template = require('./lib/template');

const FIXTURES = path.join(template.REPO, 'tests', 'fixtures', 'events');

const EXPECTED = {
  'cloudwatch-alarm-disk-used-percent.json': 'disk',
  'cloudwatch-alarm-disk-used-percent-ok.json': 'disk_ok', // recovery: closes the tickets
  'cloudwatch-alarm-disk-used-percent-muted.json': null, // inside a mute window: people own it
  'cloudwatch-alarm-disk-metric-math.json': null, // which instance/path? not guessed
  'cloudwatch-alarm-composite.json': null, // no metric at all
  'config-restricted-ssh-noncompliant.json': 'ssh',
  'config-restricted-ssh-compliant.json': 'ssh_ok', // recovery: closes the tickets
  'acm-certificate-approaching-expiration.json': 'cert',
  'acm-certificate-approaching-expiration-extended.json': 'cert',
  'acm-certificate-expired.json': 'cert',
  'acm-certificate-renewal-action-required.json': 'cert',
  'ec2-instance-state-change-unclassifiable.json': null,
};

/* [description, pattern, event, expected] from the EventBridge user guide's
 * rules; each must hold for the matcher to be trusted. */
const MATCHER_CASES = [
  ['exact string', { source: ['aws.ec2'] }, { source: 'aws.ec2' }, true],
  ['exact string, other value', { source: ['aws.ec2'] }, { source: 'aws.s3' }, false],
  ['array is OR', { source: ['aws.s3', 'aws.ec2'] }, { source: 'aws.ec2' }, true],
  ['all fields are AND', { source: ['aws.ec2'], 'detail-type': ['x'] }, { source: 'aws.ec2', 'detail-type': 'y' }, false],
  ['missing field', { detail: { state: ['running'] } }, { detail: {} }, false],
  ['nested objects', { detail: { state: { value: ['ALARM'] } } }, { detail: { state: { value: 'ALARM' } } }, true],
  ['event array: any element', { resources: ['arn:b'] }, { resources: ['arn:a', 'arn:b'] }, true],
  ['numbers by value', { detail: { n: [5] } }, { detail: { n: 5.0 } }, true],
  ['string is not number', { detail: { n: ['5'] } }, { detail: { n: 5 } }, false],
  ['null literal', { detail: { x: [null] } }, { detail: { x: null } }, true],
  ['prefix', { time: [{ prefix: '2024-05' }] }, { time: '2024-05-14T09:12:40Z' }, true],
  ['prefix, no match', { time: [{ prefix: '2023' }] }, { time: '2024-05-14' }, false],
  ['prefix ignoring case', { s: [{ prefix: { 'equals-ignore-case': 'AWS.' } }] }, { s: 'aws.acm' }, true],
  ['suffix', { f: [{ suffix: '.png' }] }, { f: 'a.png' }, true],
  ['equals-ignore-case', { s: [{ 'equals-ignore-case': 'ALARM' }] }, { s: 'alarm' }, true],
  ['wildcard', { a: [{ wildcard: 'arn:*:alarm:Disk*' }] }, { a: 'arn:x:alarm:DiskHigh' }, true],
  ['anything-but value', { state: [{ 'anything-but': 'OK' }] }, { state: 'ALARM' }, true],
  ['anything-but excludes', { state: [{ 'anything-but': ['OK', 'ALARM'] }] }, { state: 'ALARM' }, false],
  ['anything-but needs the field', { state: [{ 'anything-but': 'OK' }] }, {}, false],
  ['anything-but prefix', { s: [{ 'anything-but': { prefix: 'aws.' } }] }, { s: 'custom.app' }, true],
  ['numeric range in', { n: [{ numeric: ['>', 0, '<=', 5] }] }, { n: 5 }, true],
  ['numeric range out', { n: [{ numeric: ['>', 0, '<=', 5] }] }, { n: 6 }, false],
  ['numeric on a string', { n: [{ numeric: ['>', 0] }] }, { n: '6' }, false],
  ['exists true', { d: { x: [{ exists: true }] } }, { d: { x: 'v' } }, true],
  ['exists true, null present', { d: { x: [{ exists: true }] } }, { d: { x: null } }, true],
  ['exists false', { d: { x: [{ exists: false }] } }, { d: {} }, true],
  ['exists false, present', { d: { x: [{ exists: false }] } }, { d: { x: 1 } }, false],
  ['exists on an object is not a leaf', { d: [{ exists: true }] }, { d: { x: 1 } }, false],
  ['arrays of objects flatten', { m: { id: ['e1'] } }, { m: [{ id: 'm1' }, { id: 'e1' }] }, true],
  ['exists false over an array', { m: { e: [{ exists: false }] } }, { m: [{ id: 'm1' }, { e: 'x' }] }, false],
  ['cidr', { ip: [{ cidr: '10.0.0.0/24' }] }, { ip: '10.0.0.255' }, true],
  ['cidr out', { ip: [{ cidr: '10.0.0.0/24' }] }, { ip: '10.0.1.1' }, false],
  ['$or', { $or: [{ a: ['1'] }, { b: ['2'] }] }, { b: '2' }, true],
  ['$or none', { $or: [{ a: ['1'] }, { b: ['2'] }] }, { b: '3' }, false],
];

const BAD_PATTERNS = [
  ['a scalar leaf', { source: 'aws.ec2' }, 'source: leaf values must be arrays, got "aws.ec2"'],
  ['an unknown operator', { source: [{ begins: 'aws' }] }, 'source: unknown operator "begins"'],
  ['an empty condition list', { source: [] }, 'source: empty array of conditions'],
];

async function patterns(ctx) {
  const mod = await ctx.module('terraform');
  if (!mod.locals.event_patterns) throw new Error('terraform: local.event_patterns is not defined');
  return resolveRefs(mod.locals.event_patterns, mod, await ctx.defaults());
}

function noUnresolved(value, where, errors) {
  if (typeof value === 'string' && value.includes('${')) errors.push(`${where}: expression ${value} is not a plain reference to a variable or literal local`);
  else if (Array.isArray(value)) value.forEach((v, i) => noUnresolved(v, `${where}[${i}]`, errors));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) noUnresolved(v, `${where}.${k}`, errors);
}

const checks = [
  {
    name: 'event_matcher_rules',
    doc: 'the pattern matcher follows EventBridge\'s documented rules',
    async run() {
      const errors = [];
      for (const [what, p, ev, want] of MATCHER_CASES) {
        let got;
        try { got = matches(p, ev); } catch (e) { got = `error: ${e.message}`; }
        if (got !== want) errors.push(`${what}: expected ${want}, got ${got}`);
      }
      for (const [what, p, msg] of BAD_PATTERNS) {
        try {
          matches(p, {});
          errors.push(`${what}: accepted, EventBridge rejects it`);
        } catch (e) {
          if (!(e instanceof PatternError) || e.message !== msg) errors.push(`${what}: expected "${msg}", got "${e.message}"`);
        }
      }
      return { errors, notes: [`${MATCHER_CASES.length} cases, ${BAD_PATTERNS.length} invalid patterns`] };
    },
  },
  {
    name: 'event_rules_match_fixtures',
    doc: 'each fixture starts exactly the rule it should (none for the negative ones)',
    async run(ctx) {
      const errors = [];
      const notes = [];
      const pats = await patterns(ctx);
      noUnresolved(pats, 'local.event_patterns', errors);
      if (errors.length) return { errors };
      const files = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort();
      for (const f of files) {
        if (!(f in EXPECTED)) {
          errors.push(`${f}: new fixture: decide in tests/infra/check_events.js EXPECTED which rule it should start`);
          continue;
        }
        const ev = JSON.parse(fs.readFileSync(path.join(FIXTURES, f), 'utf8'));
        const hit = [];
        for (const [rule, p] of Object.entries(pats)) {
          try {
            if (matches(p, ev)) hit.push(rule);
          } catch (e) {
            errors.push(`rule ${rule}: invalid pattern: ${e.message}`);
          }
        }
        const want = EXPECTED[f] ? [EXPECTED[f]] : [];
        if (JSON.stringify(hit) !== JSON.stringify(want)) {
          errors.push(`${f}: should start ${want.length ? want[0] : 'nothing'}, starts ${hit.length ? hit.join(', ') : 'nothing'}`);
        } else {
          notes.push(`${f} -> ${want.length ? want[0] : '-'}`);
        }
      }
      for (const f of Object.keys(EXPECTED)) if (!files.includes(f)) errors.push(`${f}: fixture listed in EXPECTED is missing`);
      for (const rule of Object.keys(pats)) {
        if (!Object.values(EXPECTED).includes(rule)) errors.push(`rule ${rule}: no fixture starts it`);
      }
      return { errors, notes };
    },
  },
  {
    name: 'event_rules_reject_near_misses',
    doc: 'variations of the positive fixtures that must not start the engine',
    async run(ctx) {
      const errors = [];
      const pats = await patterns(ctx);
      const load = (f) => JSON.parse(fs.readFileSync(path.join(FIXTURES, f), 'utf8'));
      const cases = [
        ['disk alarm on another metric', 'disk', 'cloudwatch-alarm-disk-used-percent.json', (e) => { e.detail.configuration.metrics[0].metricStat.metric.name = 'mem_used_percent'; }],
        ['disk alarm from another namespace', 'disk', 'cloudwatch-alarm-disk-used-percent.json', (e) => { e.detail.configuration.metrics[0].metricStat.metric.namespace = 'Custom'; }],
        ['disk alarm INSUFFICIENT_DATA', 'disk', 'cloudwatch-alarm-disk-used-percent.json', (e) => { e.detail.state.value = 'INSUFFICIENT_DATA'; }],
        ['another Config rule', 'ssh', 'config-restricted-ssh-noncompliant.json', (e) => { e.detail.configRuleName = 'restricted-common-ports'; }],
        ['restricted-ssh on another resource type', 'ssh', 'config-restricted-ssh-noncompliant.json', (e) => { e.detail.resourceType = 'AWS::EC2::Instance'; }],
        ['restricted-ssh NOT_APPLICABLE', 'ssh', 'config-restricted-ssh-noncompliant.json', (e) => { e.detail.newEvaluationResult.complianceType = 'NOT_APPLICABLE'; }],
        ['another ACM event', 'cert', 'acm-certificate-expired.json', (e) => { e['detail-type'] = 'ACM Certificate Available'; }],
        ['ACM event from another source', 'cert', 'acm-certificate-expired.json', (e) => { e.source = 'custom.acm'; }],
      ];
      for (const [what, rule, f, mutate] of cases) {
        const ev = load(f);
        if (!matches(pats[rule], ev)) { errors.push(`${what}: the unmodified ${f} does not match ${rule}`); continue; }
        mutate(ev);
        const hit = Object.entries(pats).filter(([, p]) => matches(p, ev)).map(([r]) => r);
        if (hit.length) errors.push(`${what}: starts ${hit.join(', ')}`);
      }
      return { errors, notes: [`${cases.length} near misses`] };
    },
  },
];

module.exports = { checks, FIXTURES, EXPECTED };
