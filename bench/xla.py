r"""Measures XLA on training, with and without SE, on this machine's CPU.

Times one training step (forward, backward, momentum update, batch norm in
training mode; `se_overhead.build_train_graph` on a synthetic in-graph
batch) of one model in four variants: plain, SE, plain + XLA, SE + XLA,
alternating the variants over rounds as `se_overhead.py` does and keeping
each variant's best round. XLA is the session config `--xla` sets
(`global_jit_level=ON_1`, with `TF_XLA_FLAGS=--tf_xla_cpu_global_jit` so that
CPU ops are clustered). The question it answers: does XLA's fusion of SE's
squeeze and scale lower SE's overhead? Prints a Markdown table.

Typical use:

    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python bench/xla.py \
        --model=resnet_v1_50 --image_size=64 --batch_size=8 --rounds=3
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Before TensorFlow's first session reads it (see train_lib/accelerate.py).
from train_lib import accelerate  # pylint: disable=g-import-not-at-top,wrong-import-position
accelerate.enable_cpu_jit()

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position

from bench import se_overhead  # pylint: disable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS

VARIANTS = (('plain', None, False), ('SE', 'se_block', False),
            ('plain + XLA', None, True), ('SE + XLA', 'se_block', True))


def define_flags():
  flags.DEFINE_string('model', 'resnet_v1_50', 'Model to time.')
  flags.DEFINE_integer('image_size', 64, 'Image side.')
  flags.DEFINE_integer('batch_size', 8, 'Images per step.')
  flags.DEFINE_integer('num_classes', 10, 'Classes of the logits layer.')
  flags.DEFINE_integer('steps', 3, 'Timed steps per round and variant.')
  flags.DEFINE_integer('warmup_steps', 2,
                       'Untimed steps per variant (XLA compiles in the '
                       'first).')
  flags.DEFINE_integer('rounds', 3, 'Alternating timed rounds.')
  flags.DEFINE_integer('intra_op_threads', 0, 'Intra-op threads (0 = TF).')


def measure(model, image_size, batch_size, num_classes, steps, warmup_steps,
            rounds, intra_op_threads=0):
  """Returns `(rates, compile_secs)`: images/s per round, first-step secs."""
  runners = collections.OrderedDict()
  first_step = {}
  for name, attention_module, xla in VARIANTS:
    graph, train_op = se_overhead.build_train_graph(
        model, attention_module, batch_size, image_size, num_classes,
        reduction_ratio=16, weight_decay=0.00004, learning_rate=0.01,
        momentum=0.9)
    config = se_overhead.session_config(intra_op_threads, 0)
    accelerate.configure_session(config, xla=xla, num_gpus=0)
    runners[name] = se_overhead._Runner(graph, train_op, config)  # pylint: disable=protected-access
    first_step[name] = runners[name].run(1)
  try:
    rates = se_overhead.alternate(runners, batch_size, steps,
                                  max(warmup_steps - 1, 0), rounds)
  finally:
    for runner in runners.values():
      runner.close()
  return rates, first_step


def render(rates, first_step, settings, load_start, load_end):
  best = {k: max(v) for k, v in rates.items()}
  lines = ['| variant | img/s (rounds) | best img/s | first step s |',
           '|---|---|---:|---:|']
  for name in rates:
    lines.append('| %s | %s | %.2f | %.1f |' % (
        name, ', '.join('%.2f' % r for r in rates[name]), best[name],
        first_step[name]))
  lines += [
      '',
      'SE overhead without XLA: %+.1f%%; with XLA: %+.1f%%' % (
          100 * se_overhead.overhead(best['plain'], best['SE']),
          100 * se_overhead.overhead(best['plain + XLA'], best['SE + XLA'])),
      'XLA speed-up: plain %.2fx, SE %.2fx' % (
          best['plain + XLA'] / best['plain'], best['SE + XLA'] / best['SE']),
      'CPU only (%s); %s; load average at start %s, at end %s' % (
          se_overhead.machine_info()['CPU'], settings, load_start, load_end)]
  return '\n'.join(lines)


def main(argv):
  del argv
  load_start = se_overhead._load()  # pylint: disable=protected-access
  start = time.time()
  rates, first_step = measure(FLAGS.model, FLAGS.image_size, FLAGS.batch_size,
                              FLAGS.num_classes, FLAGS.steps,
                              FLAGS.warmup_steps, FLAGS.rounds,
                              FLAGS.intra_op_threads)
  settings = '%s at %d, batch %d, %d steps x %d rounds, %.0f s' % (
      FLAGS.model, FLAGS.image_size, FLAGS.batch_size, FLAGS.steps,
      FLAGS.rounds, time.time() - start)
  print(render(rates, first_step, settings, load_start,
               se_overhead._load()))  # pylint: disable=protected-access


if __name__ == '__main__':
  define_flags()
  app.run(main)
