#!/usr/bin/env node
'use strict';
/* extract.js - the AWS provider schema of exactly the resource and
 * data-source types terraform/ uses, as a small JSON file the infra check
 * (tests/infra/check_tf_schema.js) reads offline.
 *
 * No provider binary can be downloaded here, so the schema comes from the
 * npm package @cdktf/provider-aws (21.x, generated from the AWS provider
 * 6.x schema). It is large (~37 MB packed, ~390 MB unpacked): this script
 * fetches the tarball once into a temporary directory with `npm pack`
 * (never into the project's node_modules or package.json), unpacks only
 * package.json and lib/<type>/index.{js,d.ts} of the types in use, and
 * reads from them:
 *   - index.js: synthesizeHclAttributes() of the resource / data source /
 *     provider class and the <struct>ToHclTerraform() function of every
 *     nested block: each argument's Terraform name, whether it is a block
 *     (isBlock), its type; the struct property it reads (this._x /
 *     struct.x) links it to the TypeScript member; the class's
 *     get*Attribute('name') calls and nested lists name what it exports;
 *   - index.d.ts: the Config interface and one interface per nested block:
 *     a member without "?" is a required argument (or a required block); a
 *     block member that is not an array holds at most one block.
 *
 * Usage (from anywhere; `make tf-schema` runs the first form):
 *   node scripts/tf-schema/extract.js [--package @cdktf/provider-aws@21.22.1]
 *   node scripts/tf-schema/extract.js --tarball FILE.tgz    a downloaded package
 *   node scripts/tf-schema/extract.js --package-dir DIR     an unpacked one (DIR/package.json)
 *   options: --out FILE (default terraform/.schema/aws-provider-schema.json)
 *            --stdout   print instead of writing
 *
 * The types come from parsing every .tf file under terraform/ with
 * @cdktf/hcl2json (the project's node_modules, as the checks do); the
 * "aws" provider block is always included. Exit 0 on success, 1 when a
 * type is not in the package (misspelt type?), 2 on other errors.
 */

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const REPO = path.resolve(__dirname, '..', '..');
const DEFAULT_PACKAGE = '@cdktf/provider-aws@21.22.1';
const DEFAULT_OUT = path.join(REPO, 'terraform', '.schema', 'aws-provider-schema.json');

class UsageError extends Error {}

/* ---- which types terraform/ uses ----------------------------------------- */

async function typesInUse(root) {
  const hcl = require(path.join(REPO, 'tests', 'infra', 'lib', 'hcl'));
  const out = { resource: new Set(), data: new Set() };
  for (const d of hcl.moduleDirs(path.join(root, 'terraform'))) {
    const mod = await hcl.loadModule(d);
    for (const k of Object.keys(mod.resources)) out.resource.add(k.split('.')[0]);
    for (const k of Object.keys(mod.data)) out.data.add(k.split('.')[0]);
  }
  for (const kind of ['resource', 'data']) {
    for (const t of out[kind]) if (!t.startsWith('aws_')) throw new UsageError(`${kind} type ${t}: only the aws provider is supported`);
  }
  return { resource: [...out.resource].sort(), data: [...out.data].sort() };
}

/* lib/ directory of a type in the cdktf package. */
function libDir(kind, type) {
  if (kind === 'provider') return 'provider';
  const base = type.replace(/^aws_/, '').replace(/_/g, '-');
  return kind === 'data' ? `data-aws-${base}` : base;
}

/* ---- getting the package --------------------------------------------------- */

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, Object.assign({ encoding: 'utf8', maxBuffer: 64 << 20 }, opts));
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return r;
}

function npmPack(spec, dir) {
  process.stderr.write(`tf-schema: npm pack ${spec} (about 37 MB) into ${dir}\n`);
  const r = run('npm', ['pack', spec, '--pack-destination', dir, '--json', '--loglevel=error'], { cwd: dir, timeout: 600000 });
  if (r.status !== 0) throw new Error(`npm pack ${spec} failed: ${(r.stderr || '').trim()}`);
  const info = JSON.parse(r.stdout)[0];
  return { tarball: path.join(dir, info.filename), integrity: info.integrity };
}

/* Unpacks package.json and the two files of each wanted lib dir; returns the
 * package directory. Members missing from the archive are left out (tar
 * says so and exits 2); the caller reports the types they belong to. */
function unpack(tarball, dir, libDirs) {
  const members = ['package/package.json'];
  for (const d of libDirs) members.push(`package/lib/${d}/index.js`, `package/lib/${d}/index.d.ts`);
  const r = run('tar', ['-xzf', tarball, '-C', dir, ...members], { timeout: 600000 });
  if (r.status !== 0 && !fs.existsSync(path.join(dir, 'package', 'package.json'))) {
    throw new Error(`tar -xzf ${tarball} failed: ${(r.stderr || '').trim()}`);
  }
  return path.join(dir, 'package');
}

/* ---- reading the generated code -------------------------------------------- */

/* Text from `start` (an index) to the closing line "<indent>}" of the
 * construct opened on that line. */
function sliceBlock(text, start, indent) {
  const end = text.indexOf(`\n${indent}}\n`, start);
  if (end < 0) throw new Error(`no end of block at offset ${start}`);
  return text.slice(start, end + indent.length + 2);
}

/* The entries of a generated `const attrs = { ... }` object: Terraform name,
 * value expression, isBlock, type, storageClassType. */
function attrEntries(body) {
  const re = /^\s+([a-z0-9_]+): \{\n\s+value: (.*),\n\s+isBlock: (true|false),\n\s+type: "(\w+)",\n\s+storageClassType: "(\w+)",\n\s+\}/gm;
  const out = [];
  for (const m of body.matchAll(re)) {
    out.push({ name: m[1], value: m[2], isBlock: m[3] === 'true', type: m[4], storage: m[5] });
  }
  return out;
}

/* The struct property a value expression reads: this._x or struct.x. */
function propertyOf(value) {
  const m = /\bthis\._(\w+)/.exec(value) || /\bstruct\.(\w+)/.exec(value);
  if (!m) throw new Error(`cannot tell which property ${value} reads`);
  return m[1];
}

/* The nested struct converter a block's value calls (its ...ToHclTerraform
 * name; a few generated values call the ...ToTerraform twin). */
function nestedFunction(value) {
  const m = /(?<![.\w])([a-z][A-Za-z0-9]*)To(?:Hcl)?Terraform\b/.exec(value);
  if (!m) throw new Error(`cannot tell which converter ${value} uses`);
  return `${m[1]}ToHclTerraform`;
}

const TYPES = {
  'simple:string': 'string', 'simple:number': 'number', 'simple:boolean': 'bool',
  'list:stringList': 'list(string)', 'set:stringList': 'set(string)', 'map:stringMap': 'map(string)',
  'list:numberList': 'list(number)', 'set:numberList': 'set(number)', 'map:numberMap': 'map(number)',
  'map:booleanMap': 'map(bool)', 'map:stringMapMap': 'map(map(string))',
  'list:stringListList': 'list(list(string))', 'list:stringMapList': 'list(map(string))',
};

const NESTING = { list: 'list', set: 'set', struct: 'single', map: 'map' };

/* TypeScript interfaces of index.d.ts: name -> {member: {optional, array}}. */
function interfaces(dts) {
  const out = {};
  for (const m of dts.matchAll(/^export interface (\w+)(?: extends [\w.]+)? \{\n/gm)) {
    const body = sliceBlock(dts, m.index, '');
    const members = {};
    for (const mm of body.matchAll(/^ {4}readonly (\w+)(\?)?: (.*)$/gm)) {
      members[mm[1]] = { optional: mm[2] === '?', array: /^[\w.]+\[\]/.test(mm[3]) };
    }
    out[m[1]] = members;
  }
  return out;
}

/* converter function name -> interface it converts. */
function converters(dts) {
  const out = {};
  // (struct?: X | cdktf.IResolvable) or, for single blocks,
  // (struct?: XOutputReference | X).
  for (const m of dts.matchAll(/^export declare function (\w+ToHclTerraform)\(struct\?: ([\w.| ]+)\)/gm)) {
    const names = m[2].split('|').map((x) => x.trim()).filter((x) => x !== 'cdktf.IResolvable' && !x.endsWith('OutputReference'));
    if (names.length === 1) out[m[1]] = names[0];
  }
  return out;
}

function topFunction(js, name) {
  const i = js.search(new RegExp(`^function ${name}\\(struct\\) \\{$`, 'm'));
  if (i < 0) throw new Error(`function ${name} not found`);
  return sliceBlock(js, i, '');
}

/* One schema block from attrs entries and the interface they fill. */
function buildBlock(ctx, entries, iface, where) {
  const members = ctx.ifaces[iface];
  if (!members) throw new Error(`${where}: interface ${iface} not found`);
  const block = { attributes: {}, blocks: {} };
  for (const e of entries) {
    const prop = propertyOf(e.value);
    const mem = members[prop];
    if (!mem) throw new Error(`${where}.${e.name}: ${iface} has no member ${prop}`);
    if (!e.isBlock) {
      const spec = { type: TYPES[`${e.type}:${e.storage}`] || `${e.type}:${e.storage}` };
      if (!mem.optional) spec.required = true;
      block.attributes[e.name] = spec;
      continue;
    }
    const fn = nestedFunction(e.value);
    const sub = ctx.convs[fn];
    if (!sub) throw new Error(`${where}.${e.name}: converter ${fn} not declared`);
    if (ctx.depth > 12) throw new Error(`${where}.${e.name}: nesting too deep`);
    ctx.depth++;
    const nested = buildBlock(ctx, attrEntries(topFunction(ctx.js, fn)), sub, `${where}.${e.name}`);
    ctx.depth--;
    const spec = { nesting: NESTING[e.type] || e.type };
    if (!mem.optional) spec.required = true;
    if (spec.nesting === 'single' || ((spec.nesting === 'list' || spec.nesting === 'set') && !mem.array)) spec.max_items = 1;
    block.blocks[e.name] = Object.assign(spec, nested);
  }
  return block;
}

const BASES = { resource: 'TerraformResource', data: 'TerraformDataSource', provider: 'TerraformProvider' };

/* The schema of one type from its lib directory. */
function typeSchema(pkgDir, kind, type) {
  const dir = path.join(pkgDir, 'lib', libDir(kind, type));
  const jsFile = path.join(dir, 'index.js');
  const dtsFile = path.join(dir, 'index.d.ts');
  if (!fs.existsSync(jsFile) || !fs.existsSync(dtsFile)) return null;
  const js = fs.readFileSync(jsFile, 'utf8');
  const dts = fs.readFileSync(dtsFile, 'utf8');
  const cls = new RegExp(`^class (\\w+) extends cdktf\\.${BASES[kind]} \\{$`, 'm').exec(js);
  if (!cls) throw new Error(`${jsFile}: no ${BASES[kind]} class`);
  const tfType = new RegExp(`^${cls[1]}\\.tfResourceType = "([\\w-]+)";$`, 'm').exec(js);
  if (!tfType || tfType[1] !== type) return null;
  const body = sliceBlock(js, cls.index, '');
  const synthAt = body.indexOf('    synthesizeHclAttributes() {\n');
  if (synthAt < 0) throw new Error(`${jsFile}: no synthesizeHclAttributes()`);
  const synth = sliceBlock(body, synthAt, '    ');
  const ctx = { js, ifaces: interfaces(dts), convs: converters(dts), depth: 0 };
  const block = buildBlock(ctx, attrEntries(synth), `${cls[1]}Config`, type);
  // Everything the type exports (arguments and computed attributes).
  const exported = new Set();
  for (const m of body.matchAll(/this\.get\w*Attribute\('([a-z0-9_]+)'\)/g)) exported.add(m[1]);
  for (const m of body.matchAll(/new \w+\(this, "([a-z0-9_]+)"/g)) exported.add(m[1]);
  const computed = [...exported].filter((n) => !(n in block.attributes) && !(n in block.blocks)).sort();
  if (kind !== 'provider') block.computed = computed;
  return block;
}

/* ---- output ---------------------------------------------------------------- */

/* Keys in a fixed order: a block's nesting, max_items, required first,
 * then attributes, blocks, computed; names sorted. */
const FIRST = ['comment', 'source', 'provider', 'resource', 'data', 'nesting', 'max_items', 'required', 'type', 'attributes', 'blocks', 'computed'];

const NAME_MAPS = new Set(['provider', 'resource', 'data', 'attributes', 'blocks']);

function sortKeys(v, isNameMap) {
  if (Array.isArray(v)) return v;
  if (v && typeof v === 'object') {
    const rank = (k) => (!isNameMap && FIRST.includes(k) ? FIRST.indexOf(k) : FIRST.length);
    const keys = Object.keys(v).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
    const o = {};
    for (const k of keys) o[k] = k === 'source' && !isNameMap ? v[k] : sortKeys(v[k], !isNameMap && NAME_MAPS.has(k));
    return o;
  }
  return v;
}

/* Indented JSON with every attribute spec and the computed list on one
 * line: small, and a schema change reads as a short diff. */
function format(value, indent) {
  indent = indent || '';
  if (Array.isArray(value) || value === null || typeof value !== 'object') return JSON.stringify(value);
  const keys = Object.keys(value);
  if (keys.length === 0) return '{}';
  const inner = `${indent}  `;
  const parts = keys.map((k) => {
    const v = value[k];
    const flat = v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => x === null || typeof x !== 'object');
    return `${inner}${JSON.stringify(k)}: ${flat ? JSON.stringify(v) : format(v, inner)}`;
  });
  return `{\n${parts.join(',\n')}\n${indent}}`;
}

function parseArgs(argv) {
  const opts = { package: DEFAULT_PACKAGE, out: DEFAULT_OUT, root: REPO };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--package') opts.package = val();
    else if (a === '--tarball') opts.tarball = path.resolve(val());
    else if (a === '--package-dir') opts.packageDir = path.resolve(val());
    else if (a === '--out') opts.out = path.resolve(val());
    else if (a === '--root') opts.root = path.resolve(val());
    else if (a === '--stdout') opts.stdout = true;
    else if (a === '--help' || a === '-h') opts.help = true;
    else throw new UsageError(`unknown argument ${a}`);
  }
  if (!/^@cdktf\/provider-aws@21\.\d+\.\d+$/.test(opts.package)) {
    throw new UsageError(`--package must be @cdktf/provider-aws@21.x.y (an exact 21.x version), not ${opts.package}`);
  }
  return opts;
}

async function main(argv) {
  const opts = parseArgs(argv);
  if (opts.help) {
    process.stdout.write(fs.readFileSync(__filename, 'utf8').split('*/')[0].replace(/^#!.*\n'use strict';\n\/\* ?/, '').replace(/^ \* ?/gm, ''));
    return 0;
  }
  const types = await typesInUse(opts.root);
  const wanted = [['provider', 'aws'], ...types.resource.map((t) => ['resource', t]), ...types.data.map((t) => ['data', t])];
  let tmp = null;
  let pkgDir = opts.packageDir;
  let integrity = null;
  try {
    if (!pkgDir) {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-schema-'));
      let tarball = opts.tarball;
      if (!tarball) ({ tarball, integrity } = npmPack(opts.package, tmp));
      const sri = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`;
      if (integrity && integrity !== sri) throw new Error(`${tarball}: integrity ${sri}, npm said ${integrity}`);
      integrity = sri;
      pkgDir = unpack(tarball, tmp, wanted.map(([k, t]) => libDir(k, t)));
    }
    const pj = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
    const prov = pj.cdktf && pj.cdktf.provider;
    if (pj.name !== '@cdktf/provider-aws' || !prov || !/^6\./.test(prov.version || '')) {
      throw new Error(`${pkgDir}: not @cdktf/provider-aws for AWS provider 6.x (${pj.name} ${prov && prov.version})`);
    }
    const schema = {
      comment: 'Generated by scripts/tf-schema/extract.js (make tf-schema): the arguments, blocks and exported attributes of the AWS provider types terraform/ uses. Do not edit; regenerate when terraform/ uses a new type.',
      source: {
        package: pj.name, version: pj.version, integrity,
        provider: prov.name, provider_version: prov.version,
      },
      provider: {},
      resource: {},
      data: {},
    };
    const missing = [];
    for (const [kind, type] of wanted) {
      const s = typeSchema(pkgDir, kind, type);
      if (!s) missing.push(`${kind} ${type} (lib/${libDir(kind, type)})`);
      else schema[kind][type] = s;
    }
    if (missing.length) {
      process.stderr.write(`tf-schema: not in ${pj.name}@${pj.version} (AWS provider ${prov.version}):\n  ${missing.join('\n  ')}\n`);
      return 1;
    }
    const text = `${format(sortKeys(schema))}\n`;
    if (opts.stdout) {
      process.stdout.write(text);
    } else {
      fs.mkdirSync(path.dirname(opts.out), { recursive: true });
      fs.writeFileSync(opts.out, text);
      const n = types.resource.length + types.data.length;
      process.stderr.write(`tf-schema: ${path.relative(process.cwd(), opts.out)}: ${n} types (${types.resource.length} resources, ${types.data.length} data sources) from ${pj.name}@${pj.version}, AWS provider ${prov.version}\n`);
    }
    return 0;
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
    process.stderr.write(`tf-schema: ${e instanceof UsageError ? e.message : (e && e.stack) || e}\n`);
    process.exitCode = 2;
  });
}

module.exports = { typeSchema, libDir, attrEntries, interfaces, converters };
