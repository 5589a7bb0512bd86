"""The documentation stays true to the program: the man page covers every
command, flag and variable that `healer --help` prints."""

import os
import re

from workers import run_cli

ROOT = os.path.join(os.path.dirname(__file__), '..', '..')


def man_text():
    with open(os.path.join(ROOT, 'docs', 'man', 'healer.1')) as f:
        # roff escapes: "\-" is a hyphen, "\fB" etc. switch fonts.
        return re.sub(r'\\f[BIRP]', '', f.read()).replace('\\-', '-')


def help_text():
    r = run_cli(['--help'])
    assert r.returncode == 0
    return r.stdout.decode()


def test_man_page_covers_every_flag_and_variable():
    man, helptext = man_text(), help_text()
    flags = set(re.findall(r'(?<![\w-])(--[a-z][a-z-]+)', helptext))
    variables = set(re.findall(r'\b((?:HEALER|AWS)_[A-Z_]+)\b', helptext))
    assert len(flags) > 10 and len(variables) > 10
    missing = sorted(x for x in flags | variables if x not in man)
    assert not missing, 'in --help but not in docs/man/healer.1: %s' % missing


def test_man_page_covers_every_command():
    man, helptext = man_text(), help_text()
    commands = set(re.findall(r'^  healer ([a-z][a-z-]+)', helptext, re.M))
    assert {'run-activity', 'health'} <= commands
    missing = sorted(c for c in commands if c not in man)
    assert not missing, 'commands missing from the man page: %s' % missing


def test_man_page_renders():
    # groff is part of man-db's dependencies on Debian; render to catch
    # syntax slips that would print raw roff to a user.
    import shutil
    import subprocess
    groff = shutil.which('groff')
    if groff is None:
        # man-db is on every Debian machine we run on; fail loudly if not.
        raise AssertionError('groff is not installed (apt-get install groff-base)')
    out = subprocess.run([groff, '-man', '-Tutf8', '-ww', '-P-cbou', os.path.join(ROOT, 'docs', 'man', 'healer.1')],
                         capture_output=True, timeout=30)
    assert out.returncode == 0
    assert b'warning' not in out.stderr.lower(), out.stderr
    assert b'EXIT STATUS' in out.stdout


# ---- README.md ---------------------------------------------------------------
# The README promises a diagram of the real state machine, a table of every
# setting the code reads, and the messages a new user meets: these tests
# hold it to the code.

import glob
import json
import subprocess


def readme_text():
    with open(os.path.join(ROOT, 'README.md')) as f:
        return f.read()


def readme_section(title):
    """The text of the README's `## title` section, up to the next `## `."""
    text = readme_text()
    m = re.search(r'^## ' + re.escape(title) + r'\n(.*?)(?=^## |\Z)', text, re.M | re.S)
    assert m, 'README.md has no "## %s" section' % title
    return m.group(1)


# -- the architecture diagram --

def asl_state_names():
    """Every state name of the rendered engine state machine, Parallel
    branches and Map processors included."""
    out = subprocess.run(['node', os.path.join(ROOT, 'scripts', 'render-asl.js')],
                         capture_output=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr.decode()
    names = set()

    def walk(machine):
        for name, state in machine['States'].items():
            names.add(name)
            for branch in state.get('Branches', []):
                walk(branch)
            for key in ('ItemProcessor', 'Iterator'):
                if key in state:
                    walk(state[key])
    walk(json.loads(out.stdout))
    return names


def mermaid_block():
    blocks = re.findall(r'^```mermaid\n(.*?)^```', readme_text(), re.M | re.S)
    assert len(blocks) == 1, 'README.md should have exactly one mermaid block, has %d' % len(blocks)
    return blocks[0]


def subgraph_lines(block, sid):
    """The lines inside `subgraph <sid>` ... its matching `end`."""
    lines = block.splitlines()
    for i, line in enumerate(lines):
        if re.match(r'\s*subgraph\s+' + re.escape(sid) + r'\b', line):
            depth, body = 1, []
            for inner in lines[i + 1:]:
                s = inner.strip()
                if s.startswith('subgraph '):
                    depth += 1
                elif s == 'end':
                    depth -= 1
                    if depth == 0:
                        return body
                body.append(inner)
            raise AssertionError('subgraph %s has no matching end' % sid)
    raise AssertionError('the mermaid block has no "subgraph %s"' % sid)


# A node: its id, then optionally a shape holding a label, e.g. Guard,
# GuardChoice{GuardChoice}, Duplicate([Duplicate]), X[["label"]].
NODE = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*((?:\[\[|\[\(|\(\[|\(\(|\[|\(|\{\{|\{)(.*?)(?:\]\]|\)\]|\]\)|\)\)|\]|\)|\}\}|\}))?\s*$')


def diagram_nodes(lines):
    """{node id: label or None} of the statements in `lines` (subgraph
    headers count as nodes: a Parallel state is drawn as a subgraph)."""
    nodes = {}
    for line in lines:
        s = line.strip()
        if not s or s.startswith('%%') or s == 'end' or s.startswith('direction '):
            continue
        if s.startswith('subgraph '):
            s = s[len('subgraph '):]
        s = re.sub(r'\|[^|]*\|', ' ', s)            # edge labels |...|
        for part in re.split(r'\s*(?:-\.->|-->|==>|---|-\.-)\s*', s):
            m = NODE.match(part.strip())
            assert m, 'cannot read the mermaid statement part "%s" in: %s' % (part, line.strip())
            label = m.group(3)
            if label is not None:
                label = label.strip().strip('"')
            if nodes.get(m.group(1)) is None:
                nodes[m.group(1)] = label
    return nodes


def test_readme_diagram_matches_the_state_machine():
    states = asl_state_names()
    assert {'Guard', 'Record', 'Escalate', 'Ticket', 'EscalateAudit'} <= states
    nodes = diagram_nodes(subgraph_lines(mermaid_block(), 'SFN'))
    missing = sorted(states - set(nodes))
    extra = sorted(set(nodes) - states)
    assert not missing, 'states of engine.asl.json missing from the README diagram: %s' % missing
    assert not extra, 'nodes in the README diagram that are not states of engine.asl.json: %s' % extra
    # A label, where one is drawn, starts with the state's name.
    wrong = sorted('%s: "%s"' % (n, l) for n, l in nodes.items()
                   if l is not None and re.split(r'[\s(]', l)[0] != n)
    assert not wrong, 'diagram labels that do not name their state: %s' % wrong


def test_diagram_reader_sees_a_wrong_state():
    # The reader itself: a renamed state and a subgraph are picked up.
    nodes = diagram_nodes(['Guard --> GuardChoise{GuardChoise}',
                           'subgraph Record["Record (Parallel)"]',
                           'A -.->|Catch| B[[B]]'])
    assert nodes == {'Guard': None, 'GuardChoise': 'GuardChoise',
                     'Record': 'Record (Parallel)', 'A': None, 'B': 'B'}


# -- the configuration reference --

def c_sources():
    files = sorted(glob.glob(os.path.join(ROOT, 'worker', '*.c')) +
                   glob.glob(os.path.join(ROOT, 'activities', '*.c')))
    assert len(files) > 20
    out = {}
    for path in files:
        with open(path) as f:
            out[path] = f.read()
    return out


# Where a setting's name is read: getenv()/hl_creds_getenv(), the activity
# settings helpers (hl_setting_int("NAME", default, ...)), and the worker's
# settings table in config.c ([S_X] = { "NAME", ...).
SETTING_READ = re.compile(
    r'(?:\bgetenv\s*\(\s*|\bhl_creds_getenv\s*\(\s*\w+\s*,\s*|'
    r'\bhl_setting_\w+\s*\(\s*|\[S_\w+\]\s*=\s*\{\s*)"(HEALER_[A-Z0-9_]+)"')
# Other HEALER_* literals: the disk cleanup document's output markers
# (HEALER_USAGE_BEFORE=...), parsed from the SSM command output, not settings.
MARKERS_FILE = os.path.join(ROOT, 'activities', 'disk-cleanup-document.json')


def code_settings():
    read, literals = set(), set()
    for text in c_sources().values():
        read |= set(SETTING_READ.findall(text))
        literals |= set(re.findall(r'"(HEALER_[A-Z0-9_]+)"', text))
    hooks = {n for n in read | literals if n.startswith('HEALER_TEST_')}
    with open(MARKERS_FILE) as f:
        markers = set(re.findall(r'\b(HEALER_[A-Z0-9_]+)=', f.read()))
    # Every literal is either read as a setting, a test hook, or a marker
    # of the cleanup document: a setting read some new way fails here.
    unexplained = sorted(literals - read - hooks - markers)
    assert not unexplained, ('HEALER_* literals in the C sources that are neither read '
                             'as settings nor cleanup-document markers: %s' % unexplained)
    return read - hooks


def readme_config_rows():
    """{variable: (flag cell, default cell)} of the configuration tables."""
    rows = {}
    for line in readme_section('Configuration reference').splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')] if line.startswith('|') else []
        if len(cells) == 4 and re.fullmatch(r'`HEALER_[A-Z0-9_]+`', cells[0]):
            name = cells[0].strip('`')
            assert name not in rows, '%s is in the configuration tables twice' % name
            rows[name] = (cells[1], cells[2])
    return rows


def test_readme_configuration_lists_every_setting():
    code, rows = code_settings(), readme_config_rows()
    assert len(code) > 30
    missing = sorted(code - set(rows))
    extra = sorted(set(rows) - code)
    assert not missing, 'HEALER_* settings the code reads but README.md does not list: %s' % missing
    assert not extra, 'HEALER_* settings in README.md the code does not read: %s' % extra


def c_defines():
    defs = {}
    for path in glob.glob(os.path.join(ROOT, 'activities', '*.c')) + \
            glob.glob(os.path.join(ROOT, 'include', 'healer', '*.h')):
        with open(path) as f:
            for name, value in re.findall(r'^#define\s+(\w+)\s+(\S+)', f.read(), re.M):
                defs[name] = value
    return defs


def same_default(code_default, readme_default):
    if code_default == 'NULL':
        return readme_default == 'none'
    if code_default.startswith('"'):
        return readme_default.strip('`') == code_default.strip('"')
    try:
        return float(code_default) == float(readme_default)
    except ValueError:
        return False


def test_readme_configuration_defaults_match_the_code():
    rows = readme_config_rows()
    # The worker's settings: --help prints each default.
    helptext = help_text()
    checked = 0
    for name, default in re.findall(r'^      (HEALER_[A-Z0-9_]+)  \(default: ([^)]*)\)', helptext, re.M):
        assert rows[name][1] == default, '%s: README says default %s, --help says %s' % (
            name, rows[name][1], default)
        checked += 1
    # The activities' settings: the second argument of hl_setting_*().
    defs = c_defines()
    wrong = []
    for text in c_sources().values():
        for name, default in re.findall(r'\bhl_setting_\w+\s*\(\s*"(HEALER_[A-Z0-9_]+)"\s*,\s*([^,]+?)\s*,', text):
            default = defs.get(default, default)
            if not same_default(default, rows[name][1]):
                wrong.append('%s: README %s, code %s' % (name, rows[name][1], default))
            checked += 1
    assert not wrong, 'README defaults that differ from the code: %s' % wrong
    assert checked > 30


def test_readme_configuration_flags_match_help():
    helptext = help_text()
    flags = dict((env, flag) for flag, env in re.findall(
        r'^  (--[a-z-]+)[^\n]*\n      (HEALER_[A-Z0-9_]+)', helptext, re.M))
    assert len(flags) >= 10
    rows = readme_config_rows()
    wrong = sorted('%s: README %s, --help %s' % (n, rows[n][0], f)
                   for n, f in flags.items() if rows[n][0] != '`%s`' % f)
    assert not wrong, 'README flags that differ from --help: %s' % wrong


# -- the troubleshooting messages --

def c_string_constants():
    """Every string constant of worker/*.c and activities/*.c, adjacent
    literals joined and escapes undone, split into lines."""
    out = set()
    lit = r'"(?:[^"\\\n]|\\.)*"'
    for text in c_sources().values():
        text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
        for run in re.findall(r'(?:%s\s*)+' % lit, text):
            joined = ''.join(json.loads(x) if '\\x' not in x else x[1:-1]
                             for x in re.findall(lit, run))
            out.update(line for line in joined.split('\n') if line.strip())
    return out


SPEC = re.compile(r'%%|%[-+ #0]*\d*(?:\.\d+)?(?:hh|h|ll|l|z|j|t)?[sdiufgxXcp]')


def format_pieces(fmt):
    """A printf format as its literal pieces: ['lit', None, 'lit', ...],
    None where a conversion goes."""
    pieces, pos = [], 0
    for m in SPEC.finditer(fmt):
        pieces.append(fmt[pos:m.start()])
        pieces.append('%' if m.group() == '%%' else None)
        pos = m.end()
    pieces.append(fmt[pos:])
    return pieces


class MessageMatcher:
    """Is a printed message made of the program's formats? A message
    matches a format when its literal text is there and every converted
    part is either a value (no spaces: a name, a number, a quoted id, a
    placeholder such as URL) or itself a message made of a format."""

    def __init__(self, constants):
        self.formats = []
        for c in constants:
            pieces = format_pieces(c)
            literal = ''.join(p for p in pieces if p)
            # A format explains a message by its words, a quoted value or a
            # flag ("%s (--%s): %s"); "%s: %s" or "%s is %s" would explain
            # anything.
            if re.search(r'[A-Za-z]{3,}', literal) or '"' in literal or '--' in literal:
                self.formats.append((pieces, [p for p in pieces if p]))
        self.memo = {}

    def matches(self, msg):
        if msg not in self.memo:
            self.memo[msg] = False                  # no loops through one message
            self.memo[msg] = any(self._fits(msg, 0, pieces, 0) for pieces, lits in self.formats
                                 if all(p in msg for p in lits))
        return self.memo[msg]

    def _part_ok(self, part):
        return part != '' and (' ' not in part or self.matches(part))

    def _fits(self, msg, i, pieces, k):
        if k == len(pieces):
            return i == len(msg)
        piece = pieces[k]
        if piece is not None:
            return msg.startswith(piece, i) and self._fits(msg, i + len(piece), pieces, k + 1)
        nxt = pieces[k + 1] if k + 1 < len(pieces) else ''
        if k + 2 >= len(pieces) and nxt == '':      # the conversion ends the format
            return self._part_ok(msg[i:])
        j = msg.find(nxt, i + 1) if nxt else i + 1
        while 0 <= j <= len(msg):
            if self._part_ok(msg[i:j]) and self._fits(msg, j, pieces, k + 1):
                return True
            j = msg.find(nxt, j + 1) if nxt else j + 1
        return False


def troubleshooting_messages():
    msgs = []
    for line in readme_section('Troubleshooting').splitlines():
        if not line.startswith('| ') or line.startswith('|---'):
            continue
        first = line.strip().strip('|').split(' | ')[0]
        msgs += re.findall(r'`([^`]+)`', first)
    return msgs


def test_readme_troubleshooting_quotes_real_messages():
    msgs = troubleshooting_messages()
    assert len(msgs) >= 15
    matcher = MessageMatcher(c_string_constants())
    unknown = [m for m in msgs if not matcher.matches(m)]
    assert not unknown, 'messages in README.md Troubleshooting that the C sources do not print: %s' % unknown


def test_message_matcher_rejects_made_up_text():
    m = MessageMatcher(['no health file at %s (is the worker running?)',
                        'healer: configuration error: %s',
                        '%s (--%s) is not set',
                        'is out of range %d..%d', '%s: \"%s\" %s'])
    assert m.matches('no health file at /tmp/h.json (is the worker running?)')
    assert m.matches('healer: configuration error: AWS_REGION (--region) is not set')
    assert m.matches('healer: configuration error: X: "0" is out of range 1..100')
    assert not m.matches('no health file at /tmp/h.json (is it running?)')
    assert not m.matches('healer: configuration error: the region is missing')
    assert not MessageMatcher(['%s is %s', '%s: %s']).matches('engine is disabled')
