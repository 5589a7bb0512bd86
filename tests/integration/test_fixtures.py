"""The event fixtures in tests/fixtures/events are a copy of the team's
../shared/fixtures/events (so `make demo` and the tests need only the
repository). When ../shared is there (the team's machines, CI), the copy
must equal it byte for byte, so a fixture fixed upstream is noticed here.

README.md is the one file that is not a plain copy: it is the upstream
README.md followed by a section saying where the files come from.
"""

import os

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
HERE_DIR = os.path.join(REPO, 'tests', 'fixtures', 'events')
UPSTREAM_DIR = os.path.join(os.path.dirname(REPO), 'shared', 'fixtures', 'events')
ORIGIN_HEADING = b'\n## Where these come from\n'


def read(d, name):
    with open(os.path.join(d, name), 'rb') as f:
        return f.read()


def compare(here, upstream):
    """Differences between the in-repo copy and upstream, as sentences."""
    problems = []
    ours, theirs = set(os.listdir(here)), set(os.listdir(upstream))
    for name in sorted(theirs - ours):
        problems.append(f'{name} is in {upstream} but not in {here}: copy it')
    for name in sorted(ours - theirs):
        problems.append(f'{name} is in {here} but not in {upstream}')
    for name in sorted(ours & theirs):
        a, b = read(here, name), read(upstream, name)
        if name == 'README.md':
            if not a.startswith(b) or not a[len(b):].startswith(ORIGIN_HEADING):
                problems.append(f'README.md: {here} must be {upstream}/README.md '
                                f'followed by the section "Where these come from"')
        elif a != b:
            problems.append(f'{name} differs from {upstream}/{name}: copy it again')
    return problems


def test_in_repo_fixtures_equal_the_shared_ones():
    if not os.path.isdir(UPSTREAM_DIR):
        pytest.skip(f'{UPSTREAM_DIR} is absent (a clone without ../shared): '
                    'nothing to compare the in-repo copy with')
    problems = compare(HERE_DIR, UPSTREAM_DIR)
    assert not problems, 'tests/fixtures/events is out of step with ../shared:\n  ' + \
        '\n  '.join(problems)


def test_in_repo_fixtures_are_complete():
    """Independent of ../shared: the copy has the README with its origin
    section and the event files the tests name."""
    names = os.listdir(HERE_DIR)
    assert ORIGIN_HEADING in read(HERE_DIR, 'README.md')
    events = sorted(n for n in names if n.endswith('.json'))
    assert len(events) >= 12, events
    for n in ('cloudwatch-alarm-disk-used-percent.json',
              'config-restricted-ssh-noncompliant.json',
              'acm-certificate-approaching-expiration.json',
              'ec2-instance-state-change-unclassifiable.json'):
        assert n in events


def test_comparison_catches_drift(tmp_path):
    """compare() itself: a changed byte, a missing and an extra file, and a
    README whose origin section is gone are all reported."""
    up, here = tmp_path / 'up', tmp_path / 'here'
    up.mkdir()
    here.mkdir()
    (up / 'README.md').write_bytes(b'# fixtures\n')
    (here / 'README.md').write_bytes(b'# fixtures\n' + ORIGIN_HEADING + b'copied\n')
    (up / 'a.json').write_bytes(b'{"x": 1}\n')
    (here / 'a.json').write_bytes(b'{"x": 1}\n')
    assert compare(str(here), str(up)) == []
    (up / 'a.json').write_bytes(b'{"x": 2}\n')
    (up / 'b.json').write_bytes(b'{}\n')
    (here / 'c.json').write_bytes(b'{}\n')
    (here / 'README.md').write_bytes(b'# fixtures, edited\n')
    got = '\n'.join(compare(str(here), str(up)))
    assert 'a.json differs' in got
    assert 'b.json is in' in got and 'copy it' in got
    assert 'c.json is in' in got
    assert 'README.md:' in got
