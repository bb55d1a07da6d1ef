r"""Horovod scaling on this machine's CPU: 1 process vs N ranks.

Times the training step of one SE model (`se_overhead.build_train_graph`,
synthetic in-graph batch, momentum SGD) with Horovod's DistributedOptimizer,
first as one process, then as `horovodrun --gloo -np N -H 127.0.0.1:N`
ranks, each process limited to one intra-op and one inter-op thread (so N
ranks use N cores). Each rank trains its own batch of `--batch_size`, so the
job's throughput is N x batch / step time; scaling efficiency = N-rank
throughput / (N x 1-process throughput). Prints a Markdown table. This is a
CPU measurement: on GPUs the compute per step is far shorter and the
allreduce (Gloo over loopback here, NCCL there) weighs differently.

Typical use (needs `make horovod`):

    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python bench/horovod_scaling.py \
        --model=resnet_v1_50 --image_size=64 --batch_size=8 --ranks=2
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os
import re
import subprocess
import sys
import time

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _ROOT)

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position

from bench import se_overhead  # pylint: disable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS
_RATE = re.compile(r'RATE ([\d.]+) SECS ([\d.]+)')


def define_flags():
  flags.DEFINE_string('model', 'resnet_v1_50', 'Model to time (with SE).')
  flags.DEFINE_integer('image_size', 64, 'Image side.')
  flags.DEFINE_integer('batch_size', 8, 'Images per step and rank.')
  flags.DEFINE_integer('num_classes', 10, 'Classes of the logits layer.')
  flags.DEFINE_integer('steps', 5, 'Timed steps.')
  flags.DEFINE_integer('warmup_steps', 2, 'Untimed steps first.')
  flags.DEFINE_integer('ranks', 2, 'Horovod ranks of the parallel run.')
  flags.DEFINE_bool('worker', False, 'Internal: run as one timed rank.')


def worker():
  """One rank: times the steps; rank 0 prints the job's images/s."""
  import horovod.tensorflow as hvd  # pylint: disable=g-import-not-at-top
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  hvd.init()
  graph, train_op = se_overhead.build_train_graph(
      FLAGS.model, 'se_block', FLAGS.batch_size, FLAGS.image_size,
      FLAGS.num_classes, reduction_ratio=16, weight_decay=0.00004,
      learning_rate=0.01, momentum=0.9, wrap_optimizer=hvd.DistributedOptimizer)
  with graph.as_default():
    init = tf.global_variables_initializer()
    broadcast = hvd.broadcast_global_variables(0)
  config = se_overhead.session_config(1, 1)
  with tf.Session(graph=graph, config=config) as sess:
    sess.run(init)
    sess.run(broadcast)
    for _ in range(FLAGS.warmup_steps):
      sess.run(train_op)
    start = time.time()
    for _ in range(FLAGS.steps):
      sess.run(train_op)
    seconds = time.time() - start
  if hvd.rank() == 0:
    print('RATE %.3f SECS %.3f' % (
        hvd.size() * FLAGS.batch_size * FLAGS.steps / seconds,
        seconds / FLAGS.steps), flush=True)


def _run(command):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', PYTHONPATH=_ROOT)
  proc = subprocess.run(command, cwd=_ROOT, env=env, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, universal_newlines=True,
                        timeout=3600)
  match = _RATE.search(proc.stdout)
  if proc.returncode or not match:
    raise RuntimeError('%s failed:\n%s' % (' '.join(command),
                                           proc.stdout[-3000:]))
  return float(match.group(1)), float(match.group(2))


def main(argv):
  del argv
  if FLAGS.worker:
    worker()
    return
  args = [sys.executable, os.path.abspath(__file__), '--worker',
          '--model=%s' % FLAGS.model, '--image_size=%d' % FLAGS.image_size,
          '--batch_size=%d' % FLAGS.batch_size,
          '--num_classes=%d' % FLAGS.num_classes, '--steps=%d' % FLAGS.steps,
          '--warmup_steps=%d' % FLAGS.warmup_steps]
  horovodrun = os.path.join(os.path.dirname(sys.executable), 'horovodrun')
  load_start = se_overhead._load()  # pylint: disable=protected-access
  one, one_secs = _run(args)
  many, many_secs = _run([horovodrun, '--gloo', '-np', str(FLAGS.ranks), '-H',
                          '127.0.0.1:%d' % FLAGS.ranks] + args)
  n = FLAGS.ranks
  print('| processes (1 thread each) | step s | images/s | scaling '
        'efficiency |')
  print('|---:|---:|---:|---:|')
  print('| 1 | %.2f | %.2f | 100%% |' % (one_secs, one))
  print('| %d (Horovod, Gloo) | %.2f | %.2f | %.0f%% |' % (
      n, many_secs, many, 100.0 * many / (n * one)))
  print('\nCPU only (%s, %s cores): SE-%s at %d, batch %d per process, %d '
        'timed steps; load average at start %s, at end %s' % (
            se_overhead.machine_info()['CPU'], os.cpu_count(), FLAGS.model,
            FLAGS.image_size, FLAGS.batch_size, FLAGS.steps, load_start,
            se_overhead._load()))  # pylint: disable=protected-access


if __name__ == '__main__':
  define_flags()
  app.run(main)
