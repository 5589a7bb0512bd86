#!/usr/bin/python3
"""Plots of a `make bench` run (build/bench.json) with gnuplot:

  cpu_per_task.png   CPU ms per task by worker, at each slot count with a
                     backlog, and at the steady trickle (bars)
  rss_polls.png      RSS (MB) against open long polls, per worker
  tasks_slots.png    tasks/s against slots, per worker, with the local
                     endpoint's own CPU % at each point

Usage: plot_bench.py [BENCH_JSON] [OUT_DIR]   (defaults: build/bench.json,
docs/bench). Needs gnuplot (Debian gnuplot-nox, from scripts/install-deps.sh).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
COLORS = {'healer': '#1b7837', 'boto3': '#2166ac', 'node': '#b2182b', 'node-default': '#f4a582'}
LABELS = {'healer': 'healer (C)', 'boto3': 'boto3 (Python)',
          'node': 'step-function-worker, keep-alive (Node)',
          'node-default': 'step-function-worker as shipped (Node)'}


def main(argv):
    src = argv[1] if len(argv) > 1 else os.path.join(ROOT, 'build', 'bench.json')
    out = argv[2] if len(argv) > 2 else os.path.join(ROOT, 'docs', 'bench')
    if not shutil.which('gnuplot'):
        raise SystemExit('plot_bench: gnuplot not found (sudo scripts/install-deps.sh)')
    with open(src) as f:
        bench = json.load(f)
    kinds = [k for k in ('healer', 'boto3', 'node', 'node-default') if k in bench['workers']]
    # node-default runs only some figures (run_bench.py): '-' marks a gap.
    idle_kinds = [k for k in kinds if bench['workers'][k].get('idle')]
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='healer-plot-')
    subtitle = '%s run, %d tasks per point, %d CPUs, load average before %s, after %s' % (
        'quick' if bench.get('quick') else 'full', bench['tasks'], bench.get('cpus', 0),
        '/'.join(bench.get('loadavg_before', [])) or '?', '/'.join(bench.get('loadavg_after', [])))

    # CPU per task: rows = slot counts, one column per worker.
    slots = bench['slots']
    with open(os.path.join(tmp, 'cpu.dat'), 'w') as f:
        f.write('# slots ' + ' '.join(kinds) + '\n')
        for s in slots:
            vals = []
            for k in kinds:
                r = next((x for x in bench['workers'][k]['throughput'] if x['slots'] == s), None)
                vals.append('%.4f' % r['cpu_s_per_1000'] if r else '-')   # s/1000 tasks = ms/task
            f.write('%d %s\n' % (s, ' '.join(vals)))
        st = [bench['workers'][k].get('steady') for k in kinds]
        if all(st):
            f.write('"%d, %g/s" %s\n' % (st[0]['slots'], st[0]['rate'],
                                         ' '.join('%.4f' % x['cpu_s_per_1000'] for x in st)))
    # RSS against open polls.
    for k in idle_kinds:
        with open(os.path.join(tmp, 'rss_%s.dat' % k), 'w') as f:
            for p in bench['idle_polls']:
                e = bench['workers'][k]['idle'][str(p)]
                f.write('%d %.2f %.2f\n' % (p, e['rss_mb'], e['rss_anon_mb']))
    # tasks/s against slots, with the endpoint's CPU.
    for k in kinds:
        with open(os.path.join(tmp, 'tp_%s.dat' % k), 'w') as f:
            for r in bench['workers'][k]['throughput']:
                f.write('%d %.1f %.0f\n' % (r['slots'], r['tasks_per_s'], r['endpoint_cpu_pct']))

    common = ('set terminal pngcairo size 900,520 font "DejaVu Sans,11"\n'
              'set grid ytics lc rgb "#dddddd"\nset key top left\nset datafile missing "-"\n')
    script = [common,
              'set output "%s"\n' % os.path.join(out, 'cpu_per_task.png'),
              'set title "CPU per task (worker process, steady state; lower is better)\\n{/*0.8 %s}"\n'
              % subtitle,
              'set ylabel "CPU ms per task"\n'
              'set xlabel "slots, with a backlog; last: 64 slots at a steady trickle (tasks/s)"\n',
              'set style data histogram\nset style histogram clustered gap 1\n',
              'set style fill solid 0.85 border -1\nset boxwidth 0.9\nset yrange [0:*]\n',
              'plot ' + ', '.join('"%s" using %d:xtic(1) title "%s" lc rgb "%s"'
                                  % (os.path.join(tmp, 'cpu.dat'), i + 2, LABELS[k], COLORS[k])
                                  for i, k in enumerate(kinds)) + '\n',
              'reset\n', common,
              'set output "%s"\n' % os.path.join(out, 'rss_polls.png'),
              'set title "Memory against open long polls (idle; lower is better)\\n{/*0.8 %s}"\n'
              % subtitle,
              'set xlabel "open GetActivityTask polls"\nset ylabel "MB"\nset yrange [0:*]\n',
              'set xrange [0:*]\nset key top left\n',
              'plot ' + ', '.join(
                  '"%s" using 1:2 with linespoints lw 2 pt 7 lc rgb "%s" title "%s VmRSS", '
                  '"%s" using 1:3 with linespoints lw 1 dt 2 pt 6 lc rgb "%s" title "%s RssAnon"'
                  % (os.path.join(tmp, 'rss_%s.dat' % k), COLORS[k], k,
                     os.path.join(tmp, 'rss_%s.dat' % k), COLORS[k], k) for k in idle_kinds) + '\n',
              'reset\n', common,
              'set output "%s"\n' % os.path.join(out, 'tasks_slots.png'),
              'set title "Throughput against slots (higher is better; labels: local endpoint CPU %%)'
              '\\n{/*0.8 %s}"\n' % subtitle,
              'set xlabel "slots"\nset ylabel "tasks/s"\nset logscale x 2\nset yrange [0:*]\n',
              'set key bottom right\n',
              'plot ' + ', '.join(
                  '"%s" using 1:2 with linespoints lw 2 pt 7 lc rgb "%s" title "%s", '
                  '"%s" using 1:2:(sprintf("%%d%%%%", $3)) with labels offset 0,1 font ",8" '
                  'tc rgb "%s" notitle'
                  % (os.path.join(tmp, 'tp_%s.dat' % k), COLORS[k], LABELS[k],
                     os.path.join(tmp, 'tp_%s.dat' % k), COLORS[k]) for k in kinds) + '\n']
    path = os.path.join(tmp, 'bench.gp')
    with open(path, 'w') as f:
        f.write(''.join(script))
    subprocess.run(['gnuplot', path], check=True, timeout=60)
    shutil.rmtree(tmp, ignore_errors=True)
    for name in ('cpu_per_task.png', 'rss_polls.png', 'tasks_slots.png'):
        print('wrote %s' % os.path.relpath(os.path.join(out, name), ROOT))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
