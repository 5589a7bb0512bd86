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
