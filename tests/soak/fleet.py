"""A fleet of build/healer workers for the soak, and the disruptions done to
it: a SIGTERM (ECS stopping a task: drain, exit 0 with nothing unanswered)
or a SIGKILL (a crash, or ECS's kill after stopTimeout). Either way a
replacement is started at once, as the ECS service would, under a new
worker name, so the endpoint's records say which worker held each task.

Each worker is tests/integration/workers.Worker (log captured to a file).
Exits are reaped by one thread per stopped worker; `retired` keeps how each
one was stopped, its exit code and how long it took to exit.
"""

import os
import shutil
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'integration'))
from workers import Worker  # noqa: E402


class Fleet:
    def __init__(self, endpoint_url, activities, env, size, prefix,
                 exit_limit_s):
        self.endpoint_url = endpoint_url
        self.activities = activities
        self.env = dict(env)
        self.prefix = prefix
        self.exit_limit_s = exit_limit_s
        self.lock = threading.Lock()
        self.live = []              # Worker
        self.retired = []           # {"name", "how", "rc", "exit_s"}
        self.all = []               # every Worker ever started
        self.reapers = []
        self.started = 0
        for _ in range(size):
            self.start_one()

    def start_one(self):
        with self.lock:
            self.started += 1
            name = f'{self.prefix}-{self.started}'
        w = Worker(self.endpoint_url, self.activities, credentials='none',
                   extra_env=dict(self.env, HEALER_WORKER_NAME=name))
        w.name = name
        with self.lock:
            self.live.append(w)
            self.all.append(w)
        return w

    def disrupt(self, how, rng, victim=None):
        """Stops one live worker with SIGTERM ('term') or SIGKILL ('kill')
        and starts its replacement. Returns the victim's name."""
        with self.lock:
            if victim is None:
                victim = rng.choice(self.live)
            self.live.remove(victim)
        self.start_one()
        sig = signal.SIGTERM if how == 'term' else signal.SIGKILL
        t0 = time.monotonic()
        victim.signal(sig)
        r = threading.Thread(target=self._reap, args=(victim, how, t0),
                             daemon=True)
        r.start()
        self.reapers.append(r)
        return victim.name

    def wait_polling(self, aws, want_polls, timeout_s=60):
        """Waits until the endpoint holds want_polls open polls; fails at
        once, with its log, if a worker exits before."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self.lock:
                dead = [w for w in self.live if w.proc.poll() is not None]
            if dead:
                w = dead[0]
                raise RuntimeError(f'worker {w.name} exited with '
                                   f'{w.proc.returncode} at start:\n'
                                   f'{w.text()[-3000:]}')
            if aws.summary()['open_polls'] >= want_polls:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f'workers not polling after {timeout_s} s '
                                   f'(want {want_polls} open polls)')
            time.sleep(0.1)

    def by_name(self, name):
        with self.lock:
            for w in self.live:
                if w.name == name:
                    return w
        return None

    def _reap(self, w, how, t0):
        try:
            rc = w.proc.wait(timeout=self.exit_limit_s)
        except Exception:       # noqa: BLE001 - TimeoutExpired
            w.proc.kill()
            rc = w.proc.wait()
            how += ' (did not exit in time: SIGKILLed by the soak)'
        w.log.close()
        with self.lock:
            self.retired.append({'name': w.name, 'how': how, 'rc': rc,
                                 'exit_s': round(time.monotonic() - t0, 2)})

    def stop_all(self):
        """SIGTERM every live worker (the end of the run) and reap them."""
        with self.lock:
            victims, self.live = self.live, []
        for w in victims:
            t0 = time.monotonic()
            w.signal(signal.SIGTERM)
            r = threading.Thread(target=self._reap, args=(w, 'final', t0),
                                 daemon=True)
            r.start()
            self.reapers.append(r)
        for r in self.reapers:
            r.join()

    def killed_names(self):
        with self.lock:
            return [r['name'] for r in self.retired
                    if r['how'].startswith('kill')
                    or 'SIGKILLed by the soak' in r['how']]

    def exit_problems(self):
        """A SIGTERMed worker must exit 0 within the limit."""
        out = []
        with self.lock:
            for r in self.retired:
                if r['how'].startswith('kill'):
                    if r['rc'] != -signal.SIGKILL:
                        out.append(f'worker {r["name"]}: SIGKILL gave exit '
                                   f'code {r["rc"]}')
                elif r['rc'] != 0:
                    out.append(f'worker {r["name"]} ({r["how"]}): exit code '
                               f'{r["rc"]} after {r["exit_s"]} s')
        return out

    def counts(self):
        with self.lock:
            c = {'started': self.started, 'sigterm': 0, 'sigkill': 0}
            for r in self.retired:
                if r['how'].startswith('term'):
                    c['sigterm'] += 1
                elif r['how'].startswith('kill'):
                    c['sigkill'] += 1
            exits = [r['exit_s'] for r in self.retired
                     if r['how'].startswith('term')]
            c['sigterm_exit_s_max'] = max(exits) if exits else None
        return c

    def logs(self):
        """(name, text) of every worker ever started."""
        out = []
        for w in self.all:
            try:
                out.append((w.name, w.text()))
            except OSError:
                out.append((w.name, ''))
        return out

    def cleanup(self):
        for w in self.all:
            shutil.rmtree(w.dir, ignore_errors=True)
