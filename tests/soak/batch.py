"""Running many executions through tests/local/sfn_runner.js --batch.

A Batch starts one Node process for a list of executions, reads its result
lines on a thread (one per execution, as each ends), and exposes progress
(`done`) so the soak can time its disruptions by how far the run has got.
"""

import json
import os
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, '..', '..'))
RUNNER = os.path.join(REPO, 'tests', 'local', 'sfn_runner.js')
NODE = os.environ.get('HEALER_NODE', 'node')


class Batch:
    def __init__(self, endpoint_url, machine_args, items, concurrency,
                 timeout_s, extra_args=()):
        """machine_args: ['--definition', F] or ['--template', F, ...];
        items: [{"name", "input"}]."""
        self.dir = tempfile.mkdtemp(prefix='healer-soak-batch-')
        self.batch_file = os.path.join(self.dir, 'batch.jsonl')
        with open(self.batch_file, 'w') as f:
            for it in items:
                f.write(json.dumps(it, separators=(',', ':')) + '\n')
        self.expected = len(items)
        self.results = []
        self.summary = None
        self.bad_lines = []
        self.lock = threading.Lock()
        self.stderr_path = os.path.join(self.dir, 'runner.stderr')
        self._stderr = open(self.stderr_path, 'wb')
        cmd = [NODE, RUNNER, '--endpoint', endpoint_url] + list(machine_args) + [
            '--batch', self.batch_file, '--concurrency', str(concurrency),
            '--timeout-s', str(timeout_s)] + list(extra_args)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=self._stderr)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            try:
                obj = json.loads(raw)
            except ValueError:
                self.bad_lines.append(raw[:300])
                continue
            with self.lock:
                if 'batch' in obj:
                    self.summary = obj['batch']
                else:
                    self.results.append(obj)

    @property
    def done(self):
        with self.lock:
            return len(self.results)

    def running(self):
        return self.proc.poll() is None

    def wait(self, timeout):
        """Waits for the runner to finish; kills it after timeout seconds.
        Returns its exit code (None if it had to be killed)."""
        try:
            rc = self.proc.wait(timeout=max(0, timeout))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self.reader.join(30)
        self._stderr.close()
        return rc

    def stderr(self):
        try:
            with open(self.stderr_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def elapsed(self):
        return time.monotonic() - self.started

    def cleanup(self):
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)
