"""Fault injection for AWS requests (never for the admin API or stand-ins).

Configuration (POST /_admin/faults):
  rate_500, rate_503, rate_throttle, rate_reset, rate_after_effect
      probabilities in [0, 1], summing to at most 1.  One uniform draw per
      request picks at most one kind, so each kind happens at its own rate.
  latency_ms   [lo, hi]: a uniform random delay added before the effect
  seed         seed of the generator (draws are reproducible for one client)
  operations   list of operation names ("GetActivityTask" or
               "AWSStepFunctions.GetActivityTask"); default all
  after_effect_operations
               list of operation names that may get "after_effect" faults
               (default: the same as operations).  A draw of after_effect
               for another operation is served normally and not counted:
               an error after GetActivityTask took effect loses the task,
               which a worker test may want to exclude.

Kinds and what the client sees:
  "500"          500 InternalFailure, no effect
  "503"          503 ServiceUnavailable, no effect
  "throttle"     400 ThrottlingException "Rate exceeded", no effect
  "reset"        TCP RST (SO_LINGER 0) without a response, no effect
  "after_effect" the operation takes effect, then 500 InternalFailure
  "latency"      counted whenever a delay was added
"""

import random
import threading

KINDS = ('500', '503', 'throttle', 'reset', 'after_effect')
_RATE_KEYS = {'rate_500': '500', 'rate_503': '503',
              'rate_throttle': 'throttle', 'rate_reset': 'reset',
              'rate_after_effect': 'after_effect'}
_ALLOWED = set(_RATE_KEYS) | {'latency_ms', 'seed', 'operations',
                              'after_effect_operations'}


class Decision:
    __slots__ = ('kind', 'latency_s')

    def __init__(self, kind=None, latency_s=0.0):
        self.kind = kind
        self.latency_s = latency_s


NO_FAULT = Decision()


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self.counts = {}
        self.clear()

    def clear(self, reset_counts=False):
        with self._lock:
            self._rates = []          # [(cumulative upper bound, kind)]
            self._latency = None
            self._ops = None
            self._ae_ops = None
            self._rng = random.Random(0)
            self._config = {}
            self.active = False
            if reset_counts:
                self.counts = {}

    def configure(self, cfg):
        """Replace the configuration; {} clears.  Raises ValueError."""
        if not isinstance(cfg, dict):
            raise ValueError('faults: body must be a JSON object')
        unknown = set(cfg) - _ALLOWED
        if unknown:
            raise ValueError(f'faults: unknown keys {sorted(unknown)}')
        rates, total = [], 0.0
        for key, kind in _RATE_KEYS.items():
            r = cfg.get(key, 0) or 0
            if not isinstance(r, (int, float)) or isinstance(r, bool) \
                    or not 0 <= r <= 1:
                raise ValueError(f'faults: {key} must be a number in [0, 1]')
            if r:
                total += r
                rates.append((total, kind))
        if total > 1 + 1e-9:
            raise ValueError('faults: rates sum to more than 1')
        latency = cfg.get('latency_ms')
        if latency is not None:
            if (not isinstance(latency, list) or len(latency) != 2
                    or not all(_num(x) and x >= 0 for x in latency)
                    or latency[0] > latency[1]):
                raise ValueError('faults: latency_ms must be [lo, hi] with '
                                 '0 <= lo <= hi')
            if latency[1] == 0:
                latency = None
        ops = cfg.get('operations')
        if ops is not None:
            if not isinstance(ops, list) or not all(isinstance(o, str)
                                                    for o in ops):
                raise ValueError('faults: operations must be a list of names')
            ops = set(ops)
        ae_ops = cfg.get('after_effect_operations')
        if ae_ops is not None:
            if not isinstance(ae_ops, list) or not all(isinstance(o, str)
                                                       for o in ae_ops):
                raise ValueError('faults: after_effect_operations must be a '
                                 'list of names')
            ae_ops = set(ae_ops)
        seed = cfg.get('seed', 0)
        with self._lock:
            self._rates = rates
            self._latency = (latency[0] / 1000.0, latency[1] / 1000.0) \
                if latency else None
            self._ops = ops
            self._ae_ops = ae_ops
            self._rng = random.Random(seed)
            self._config = dict(cfg)
            self.active = bool(rates or self._latency)

    def config(self):
        with self._lock:
            return dict(self._config)

    def draw(self, op_name, target):
        """Decide the fault for one request (op_name 'GetActivityTask',
        target 'AWSStepFunctions.GetActivityTask')."""
        if not self.active:
            return NO_FAULT
        with self._lock:
            if self._ops is not None and op_name not in self._ops \
                    and target not in self._ops:
                return NO_FAULT
            kind, latency = None, 0.0
            if self._latency:
                latency = self._rng.uniform(*self._latency)
                self.counts['latency'] = self.counts.get('latency', 0) + 1
            if self._rates:
                r = self._rng.random()
                for bound, k in self._rates:
                    if r < bound:
                        if k == 'after_effect' and self._ae_ops is not None \
                                and op_name not in self._ae_ops \
                                and target not in self._ae_ops:
                            break
                        kind = k
                        self.counts[k] = self.counts.get(k, 0) + 1
                        break
            return Decision(kind, latency)

    def counts_snapshot(self):
        with self._lock:
            return dict(self.counts)


def _num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)
