r"""What an attention module costs: throughput, FLOPs and matmul efficiency.

For each model that takes an attention module, with and without the module
(`--attention_module`: SE [1] by default, or CBAM [2], ECA [3]), this script
measures on the machine it runs on:

* training images/s: forward + backward + momentum-SGD update, batch norm in
  training mode, on a synthetic batch held in a variable inside the graph (so
  no input pipeline is timed);
* evaluation images/s: the same model in inference mode;
* the module's overhead of both: `(its step time / plain step time) - 1`;
* FLOPs per image counted from the inference graph by `tf.profiler`, next to
  the multiply-adds the paper reports ([1], Table 2);
* the fraction of the machine's matrix-multiply peak each training run
  reaches: the training graph's FLOPs (counted by `tf.profiler` on the
  batch-N training graph, divided by N) times images/s, over the best rate of
  a large square float32 `tf.matmul` in the same TensorFlow build.

Plain and attention runs alternate (A B, then B A, ...) so that load from other
processes hits both alike; each throughput is the best round, i.e. the least
disturbed one. Results go to a Markdown file (written to a temporary file and
renamed, after every model, so an interrupted run leaves its finished rows).

References:
  [1] Hu et al., Squeeze-and-Excitation Networks, arXiv:1709.01507.
  [2] Woo et al., CBAM: Convolutional Block Attention Module,
      arXiv:1807.06521.
  [3] Wang et al., ECA-Net: Efficient Channel Attention for Deep
      Convolutional Neural Networks, arXiv:1910.03151.

Typical use:

    # Full table at each model's default size (slow on a CPU).
    python bench/se_overhead.py
    # Quick CPU check of one model.
    python bench/se_overhead.py --models=resnet_v1_50 --image_size=64 \
        --steps=2 --warmup_steps=1 --rounds=2
    # CBAM instead of SE.
    python bench/se_overhead.py --models=resnet_v1_50 \
        --attention_module=cbam_block --output=bench/results_cbam.md
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
import datetime
import glob
import json
import os
import platform
import subprocess
import sys
import time

from absl import app
from absl import flags

# Runnable as `python bench/se_overhead.py` from the repository root.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
  sys.path.insert(0, _ROOT)

import tf_compat  # pylint: disable=g-import-not-at-top
# After tf_compat, which must run before TensorFlow is first imported.
import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
from nets import attention  # pylint: disable=g-import-not-at-top
from nets import nets_factory  # pylint: disable=g-import-not-at-top

# The ten SE models of the paper this benchmark covers, cheapest first, so an
# interrupted run has measured the most models it could.
PAPER_MODELS = (
    'resnet_v1_50', 'resnet_v2_50', 'resnet_v1_101', 'resnet_v2_101',
    'inception_v4', 'inception_resnet_v2', 'resnet_v1_152', 'resnet_v2_152',
    'resnet_v1_200', 'resnet_v2_200',
)

# [1] Table 2, "GFLOPs" column: (original, SE) in billions of multiply-adds
# per image, at 224 x 224 (ResNets) and 299 x 299 (Inception-ResNet-v2).
PAPER_GMACS = {
    'resnet_v1_50': (3.86, 3.87),
    'resnet_v1_101': (7.58, 7.60),
    'resnet_v1_152': (11.30, 11.32),
    'inception_resnet_v2': (11.75, 11.76),
}

# Targets of issue 6, point 4.
# Targets of issue 10 (both runtimes): the module's overhead on ResNet-50.
MAX_TRAIN_OVERHEAD = 0.05
MAX_EVAL_OVERHEAD = 0.05
# SE-ResNet-50 training as a fraction of the same runtime's large-matmul rate:
# issue 6 asked 70% of TF 1.15; issue 10 asks 85% of TF 2 (oneDNN).
MIN_PEAK_FRACTION = {'tf1': 0.70, 'tf2': 0.85}
PEAK_TARGET_MODEL = 'resnet_v1_50'  # "SE-ResNet-50 trains at >= 70% of peak"

SE = 'se_block'

FLAGS = flags.FLAGS

# The flags `define_flags` defines, in order; the report quotes those given.
_FLAG_NAMES = (
    'models', 'attention_module', 'image_size', 'num_classes',
    'reduction_ratio', 'batch_size',
    'steps', 'warmup_steps', 'rounds', 'peak_size', 'peak_runs',
    'intra_op_threads', 'inter_op_threads', 'learning_rate', 'momentum',
    'weight_decay', 'output')


def define_flags():
  """Defines the command-line flags (called only when run as a script).

  Kept out of import time so tests can import the helpers next to modules
  that define flags of the same names (`batch_size`, `learning_rate`, ...).
  """
  # --- Models ---
  flags.DEFINE_list('models', None,
                    'Models to benchmark (default: the ten SE models of the '
                    'paper that are registered). Any model of '
                    'nets_factory.attention_model_names() is accepted.')
  flags.DEFINE_enum('attention_module', SE, attention.names(),
                    'The module measured against the plain model.')
  flags.DEFINE_integer('image_size', 0,
                       'Square input side for every model; 0 uses each '
                       'model\'s default size. Small values make quick CPU '
                       'runs, but then FLOPs are not comparable to the paper.')
  flags.DEFINE_integer('num_classes', 1000, 'Classes of the logits layer.')
  flags.DEFINE_integer('reduction_ratio', attention.DEFAULT_REDUCTION_RATIO,
                       'Reduction ratio r of SE and CBAM.')
  # --- Measurement ---
  flags.DEFINE_integer('batch_size', 16, 'Images per step (train and eval).')
  flags.DEFINE_integer('steps', 5, 'Timed steps per round and variant.')
  flags.DEFINE_integer('warmup_steps', 2,
                       'Untimed steps per session before the first round.')
  flags.DEFINE_integer('rounds', 2,
                       'Alternating rounds (plain, module, then module, '
                       'plain, ...); '
                       'the best round of each variant is reported.')
  flags.DEFINE_integer('peak_size', 2048,
                       'Side of the square float32 matmul measuring the peak.')
  flags.DEFINE_integer('peak_runs', 10,
                       'Matmul runs per measurement; the peak is measured '
                       'before every model and after the last, and the '
                       'fastest run of all is the peak.')
  flags.DEFINE_integer('intra_op_threads', 0,
                       'intra_op_parallelism_threads (0: TensorFlow decides).')
  flags.DEFINE_integer('inter_op_threads', 0,
                       'inter_op_parallelism_threads (0: TensorFlow decides).')
  # --- Optimization (the training step that is timed) ---
  flags.DEFINE_float('learning_rate', 0.01, 'Momentum SGD learning rate.')
  flags.DEFINE_float('momentum', 0.9, 'Momentum SGD momentum.')
  flags.DEFINE_float('weight_decay', 0.00004, 'L2 weight decay (as Slim).')
  # --- Output ---
  flags.DEFINE_string('output', os.path.join(_ROOT, 'bench', 'results.md'),
                      'Markdown file to write (via a temporary file + rename).')


# ----------------------------------------------------------------------------
# Counting
# ----------------------------------------------------------------------------

def matmul_flops(n):
  """FLOPs of an `n x n` by `n x n` matmul: n^3 multiplies and n^3 adds."""
  return 2 * n ** 3


def count_flops(graph, fetches):
  """Counts the float operations needed to compute `fetches` in `graph`.

  Only the ops `fetches` depend on are counted: variable initializers (whose
  random-normal scaling is made of `Mul`/`Add` ops) and other side graphs are
  cut away first with `extract_sub_graph`, then `tf.profiler` counts the rest
  with `ProfileOptionBuilder.float_operation()`. The profiler counts a
  multiply and an add as two operations (a conv is `2 * k*k*Cin * Cout *
  Hout*Wout`), and ops it has no cost for (batch norm, ReLU, sigmoid) as zero.

  Args:
    graph: a `tf.Graph` with fully defined shapes on the counted path.
    fetches: tensors or ops of `graph` to count up to.

  Returns:
    `(flops, incomplete)`: the profiler's total float operations, and how many
    ops with a registered cost were skipped for lack of a fully defined shape
    (should be 0; the profiler skips such ops silently).
  """
  names = [f.op.name if isinstance(f, tf.Tensor) else f.name for f in fetches]
  sub_graph_def = tf.graph_util.extract_sub_graph(graph.as_graph_def(), names)
  with tf.Graph().as_default() as sub_graph:
    tf.import_graph_def(sub_graph_def, name='')
  incomplete = 0
  # pylint: disable=g-direct-tensorflow-import
  from tensorflow.python.framework import ops as tf_ops
  # pylint: enable=g-direct-tensorflow-import
  for op in sub_graph.get_operations():
    try:
      tf_ops.get_stats_for_node_def(sub_graph, op.node_def, 'flops')
    except ValueError:
      incomplete += 1
  options = (tf.profiler.ProfileOptionBuilder(
      tf.profiler.ProfileOptionBuilder.float_operation())
             .with_empty_output().build())
  profile = tf.profiler.profile(sub_graph, cmd='scope', options=options)
  return profile.total_float_ops, incomplete


def overhead(base_images_per_sec, se_images_per_sec):
  """Time overhead: `(module step time / plain step time) - 1`."""
  return base_images_per_sec / se_images_per_sec - 1.0


def verdict(value, limit, at_most=True):
  """'PASS' if `value` is within `limit` (at most, or at least), else 'MISS'."""
  ok = value <= limit if at_most else value >= limit
  return 'PASS' if ok else 'MISS'


# ----------------------------------------------------------------------------
# Graphs
# ----------------------------------------------------------------------------

def _synthetic_batch(batch_size, image_size, num_classes, channels=3):
  """A fixed random batch in non-trainable variables (read, not regenerated)."""
  images = tf.get_variable(
      'synthetic/images', [batch_size, image_size, image_size, channels],
      initializer=tf.random_uniform_initializer(-1.0, 1.0), trainable=False)
  labels = tf.get_variable(
      'synthetic/labels', [batch_size], dtype=tf.int32,
      initializer=tf.random_uniform_initializer(0, num_classes,
                                                dtype=tf.int32),
      trainable=False)
  return images, labels


def build_train_graph(model, attention_module, batch_size, image_size,
                      num_classes, reduction_ratio, weight_decay,
                      learning_rate, momentum, wrap_optimizer=None):
  """Builds one training step of `model` on a synthetic batch.

  The loss is as in `train_image_classifier.py`: softmax cross-entropy on the
  logits, 0.4 x the auxiliary logits' loss where the model has them, plus the
  weight-decay terms; batch-norm moving averages update with every step.
  `wrap_optimizer(optimizer)`, if given, wraps the momentum optimizer (e.g.
  Horovod's DistributedOptimizer in bench/horovod_scaling.py).

  Returns:
    `(graph, train_op)`.
  """
  graph = tf.Graph()
  with graph.as_default():
    images, labels = _synthetic_batch(batch_size, image_size, num_classes)
    network_fn = nets_factory.get_network_fn(
        model, num_classes, weight_decay=weight_decay, is_training=True,
        attention_module=attention_module, reduction_ratio=reduction_ratio)
    logits, end_points = network_fn(images)
    one_hot = tf.one_hot(labels, num_classes)
    if 'AuxLogits' in end_points:
      tf.losses.softmax_cross_entropy(one_hot, end_points['AuxLogits'],
                                      weights=0.4, scope='aux_loss')
    tf.losses.softmax_cross_entropy(one_hot, logits)
    loss = tf.losses.get_total_loss()
    optimizer = tf.train.MomentumOptimizer(learning_rate, momentum)
    if wrap_optimizer:
      optimizer = wrap_optimizer(optimizer)
    global_step = tf.train.get_or_create_global_step()
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
      train_op = optimizer.minimize(loss, global_step=global_step)
  return graph, train_op


def build_eval_graph(model, attention_module, batch_size, image_size,
                     num_classes, reduction_ratio, channels=3):
  """Builds `model` in inference mode on a synthetic batch.

  Returns:
    `(graph, logits)`.
  """
  graph = tf.Graph()
  with graph.as_default():
    images, _ = _synthetic_batch(batch_size, image_size, num_classes,
                                 channels)
    network_fn = nets_factory.get_network_fn(
        model, num_classes, is_training=False,
        attention_module=attention_module, reduction_ratio=reduction_ratio)
    logits, _ = network_fn(images)
  return graph, logits


def inference_flops(model, attention_module, image_size, num_classes,
                    reduction_ratio, batch_size=1, channels=3):
  """FLOPs per image of `model` in inference mode.

  Every op of an inference graph costs in proportion to the batch, so the
  count of a batch-N graph divided by N equals the batch-1 count (the test
  checks this); `benchmark_model` uses that to count on the graph it times.

  Returns:
    `(flops per image, ops skipped for incomplete shapes)`.
  """
  graph, logits = build_eval_graph(model, attention_module, batch_size,
                                   image_size, num_classes, reduction_ratio,
                                   channels)
  flops, incomplete = count_flops(graph, [logits])
  return flops / batch_size, incomplete


# ----------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------

def session_config(intra_op_threads, inter_op_threads):
  return tf.ConfigProto(intra_op_parallelism_threads=intra_op_threads,
                        inter_op_parallelism_threads=inter_op_threads)


class _Runner(object):
  """A session that runs one fetch repeatedly and times it."""

  def __init__(self, graph, fetch, config):
    self._fetch = fetch.op if isinstance(fetch, tf.Tensor) else fetch
    with graph.as_default():
      init = tf.global_variables_initializer()
    graph.finalize()
    self._sess = tf.Session(graph=graph, config=config)
    self._sess.run(init)

  def run(self, steps):
    """Runs `steps` steps; returns the seconds they took."""
    start = time.time()
    for _ in range(steps):
      self._sess.run(self._fetch)
    return time.time() - start

  def close(self):
    self._sess.close()


def alternate(runners, batch_size, steps, warmup_steps, rounds):
  """Times `runners` (a dict variant -> _Runner) in alternating order.

  Round 0 runs the variants in dict order, round 1 reversed, and so on, so a
  slow drift in machine load does not favour one of them.

  Returns:
    dict variant -> list of images/s, one per round.
  """
  keys = list(runners)
  for key in keys:
    if warmup_steps:
      runners[key].run(warmup_steps)
  rates = collections.OrderedDict((k, []) for k in keys)
  for r in range(rounds):
    for key in (keys if r % 2 == 0 else keys[::-1]):
      seconds = runners[key].run(steps)
      rates[key].append(batch_size * steps / seconds)
  return rates


def measure_matmul_peak(n, runs, config):
  """Best float32 FLOP/s of an `n x n` matmul over `runs` runs."""
  graph = tf.Graph()
  with graph.as_default():
    a = tf.get_variable('a', [n, n], initializer=tf.random_normal_initializer())
    b = tf.get_variable('b', [n, n], initializer=tf.random_normal_initializer())
    product = tf.matmul(a, b)
  runner = _Runner(graph, product, config)
  try:
    runner.run(1)  # warm-up
    best = min(runner.run(1) for _ in range(runs))
  finally:
    runner.close()
  return matmul_flops(n) / best


# ----------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------

def _cpu_model():
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith('model name'):
          return line.split(':', 1)[1].strip()
  except IOError:
    pass
  return platform.processor() or 'unknown'


def _mkl_enabled():
  try:
    # pylint: disable=g-direct-tensorflow-import
    from tensorflow.python import pywrap_tensorflow
    return bool(pywrap_tensorflow.IsMklEnabled())
  except (ImportError, AttributeError):
    return None


def _git_commit():
  try:
    return subprocess.check_output(
        ['git', 'rev-parse', '--short', 'HEAD'], cwd=_ROOT,
        stderr=subprocess.DEVNULL).decode().strip()
  except (OSError, subprocess.CalledProcessError):
    return 'unknown'


def machine_info():
  """Describes the machine and TensorFlow build, as a dict of strings."""
  mkl = _mkl_enabled()
  build = {True: 'MKL (oneDNN) build', False: 'stock (Eigen) build',
           None: 'unknown (IsMklEnabled unavailable)'}[mkl]
  threads_env = ' '.join('%s=%s' % (k, os.environ[k]) for k in sorted(
      os.environ) if k.startswith(('OMP_', 'KMP_')))
  return collections.OrderedDict([
      ('CPU', _cpu_model()),
      ('Cores', str(os.cpu_count())),
      ('Runtime', tf_compat.RUNTIME),
      ('TensorFlow', '%s, %s' % (tf_compat.VERSION, build)),
      ('Python', platform.python_version()),
      ('Threading env', threads_env or '(none set)'),
      ('Commit', _git_commit()),
  ])


def _load():
  return '%.2f / %.2f / %.2f' % os.getloadavg()


def _g(x, digits=2):
  return '%.*f' % (digits, x / 1e9)


def spread(rounds):
  """Spread of one variant's rounds: (best - worst) / best."""
  return (max(rounds) - min(rounds)) / max(rounds)


def run_record(results, info, command, peaks, peak_size, load_start,
               finished, total, settings):
  """The JSON-able record of one runtime's run, as `render` takes it."""
  return dict(runtime=tf_compat.RUNTIME, key=tf_compat.RUNTIME_KEY,
              date=datetime.datetime.now().strftime('%Y-%m-%d %H:%M'),
              results=results, info=info, command=command, peaks=peaks,
              peak_size=peak_size, load_start=load_start, load_end=_load(),
              finished=finished, total=total, settings=settings)


def render(run):
  """Returns the Markdown section of one runtime's run (`run_record`)."""
  results, info, settings = run['results'], run['info'], run['settings']
  peaks, peak_size = run['peaks'], run['peak_size']
  min_peak = MIN_PEAK_FRACTION[run['key']]
  peak = max(peaks)
  lines = ['## %s' % run['runtime'], '']
  if run['finished'] < run['total']:
    lines += ['**Partial: %d of %d models done so far.**' % (
        run['finished'], run['total']), '']
  lines += ['Generated by `bench/se_overhead.py` on %s.' % run['date'], '',
            'Command:', '', '```', run['command'], '```', '',
            '### Machine', '']
  for key, value in info.items():
    lines.append('- %s: %s' % (key, value))
  lines += ['- Load average (1/5/15 min) at start: %s; at end: %s' %
            (run['load_start'], run['load_end']),
            '- Matmul peak: %.1f GFLOP/s, the fastest of %d runs of a %d x %d '
            'float32 `tf.matmul` (2n^3 FLOPs each): %d runs before each model '
            'and after the last (best of each: %s GFLOP/s)' %
            (peak / 1e9, settings['peak_runs'] * len(peaks), peak_size,
             peak_size, settings['peak_runs'],
             ', '.join('%.1f' % (p / 1e9) for p in peaks)),
            '- Settings: batch %d, %d timed steps x %d alternating rounds, '
            '%d warm-up steps, momentum SGD, synthetic in-graph data' %
            (settings['batch_size'], settings['steps'], settings['rounds'],
             settings['warmup_steps']),
            '']

  lines += ['### Throughput and attention overhead', '',
            'Images/s is the best of the alternating rounds; "att." is the '
            'model with the row\'s module. Overhead = att. step time / plain '
            'step time - 1. Spread = (best - worst) / best round of the '
            'noisier variant: an overhead smaller than its spread is not '
            'resolved by the run. Targets: training overhead '
            '<= %d%%, inference overhead <= %d%%.' %
            (MAX_TRAIN_OVERHEAD * 100, MAX_EVAL_OVERHEAD * 100), '',
            '| model | size | module | train img/s | att. train img/s '
            '| train overhead | spread | <= %d%% | eval img/s '
            '| att. eval img/s | eval overhead | spread | <= %d%% |' % (
                MAX_TRAIN_OVERHEAD * 100, MAX_EVAL_OVERHEAD * 100),
            '|---|---:|---|---:|---:|---:|---:|:---:|---:|---:|---:|---:'
            '|:---:|']
  for r in results:
    lines.append('| %s | %d | %s | %.2f | %.2f | %+.1f%% | %.1f%% | %s | %.2f '
                 '| %.2f | %+.1f%% | %.1f%% | %s |' % (
                     r['model'], r['size'], r['module'], r['train'][0],
                     r['train'][1],
                     100 * r['train_overhead'],
                     100 * max(spread(x) for x in r['train_rounds']),
                     verdict(r['train_overhead'], MAX_TRAIN_OVERHEAD),
                     r['eval'][0], r['eval'][1], 100 * r['eval_overhead'],
                     100 * max(spread(x) for x in r['eval_rounds']),
                     verdict(r['eval_overhead'], MAX_EVAL_OVERHEAD)))

  lines += ['', '### FLOPs per image', '',
            '`tf.profiler` float operations per image of the inference graph '
            '(counted on the timed batch-N graph and divided by N, which '
            'equals the batch-1 count) '
            '(a multiply and an add count as 2; batch norm, ReLU and sigmoid '
            'count as 0). Multiply-adds = profiler / 2, the unit of the '
            'paper\'s "GFLOPs" ([1] Table 2), which is shown alongside '
            '(at 224 x 224 for ResNets, 299 x 299 for Inception-ResNet-v2). '
            'Slim\'s ResNets subsample in the last unit of each block, the '
            'paper\'s in the first unit of the next, so in Slim the last '
            'unit of blocks 1-3 runs at half resolution and the count is '
            'lower than the paper\'s; with SE the paper\'s and our extra '
            'cost are alike. The paper columns are SE\'s.', '',
            '| model | size | module | profiler GFLOPs | att. profiler GFLOPs '
            '| G mult-adds | att. G mult-adds | att. extra | paper G mult-adds '
            '| paper SE |',
            '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|']
  for r in results:
    base, se = r['flops']
    paper = PAPER_GMACS.get(r['model']) if r['module'] == SE else None
    paper_cells = ('%.2f | %.2f' % paper) if paper else '- | -'
    lines.append('| %s | %d | %s | %s | %s | %s | %s | %+.2f%% | %s |' % (
        r['model'], r['size'], r['module'], _g(base), _g(se), _g(base / 2),
        _g(se / 2), 100.0 * (se / base - 1), paper_cells))

  lines += ['', '### Fraction of the matmul peak reached in training', '',
            'Achieved FLOP/s = training FLOPs per image x training images/s, '
            'where training FLOPs per image is the `tf.profiler` count of the '
            'whole batch-%d training graph (forward, backward, update) '
            'divided by %d. Fraction = achieved / matmul peak (%.1f GFLOP/s). '
            'Target: SE-ResNet-50 (resnet_v1_50 with SE) >= %d%%.' % (
                settings['batch_size'], settings['batch_size'], peak / 1e9,
                min_peak * 100), '',
            '| model | module | train GFLOPs/img | att. train GFLOPs/img '
            '| GFLOP/s | att. GFLOP/s | % of peak | att. % of peak '
            '| SE >= {:.0f}% |'.format(min_peak * 100),
            '|---|---|---:|---:|---:|---:|---:|---:|:---:|']
  for r in results:
    achieved = [f * ips for f, ips in zip(r['train_flops'], r['train'])]
    target = (verdict(achieved[1] / peak, min_peak, at_most=False)
              if r['model'] == PEAK_TARGET_MODEL and r['module'] == SE
              else '-')
    lines.append('| %s | %s | %s | %s | %s | %s | %.1f%% | %.1f%% | %s |' % (
        r['model'], r['module'], _g(r['train_flops'][0]),
        _g(r['train_flops'][1]),
        _g(achieved[0], 1), _g(achieved[1], 1), 100 * achieved[0] / peak,
        100 * achieved[1] / peak, target))
  if any(f * ips > peak for r in results
         for f, ips in zip(r['train_flops'], r['train'])):
    lines += ['', '**A training run beat the measured matmul peak: the '
              'machine was busy during every peak measurement, so the peak '
              'is too low and these fractions are too high.**']

  lines += ['', '### Raw rounds', '',
            'Images/s of each round (plain, module), load average before the '
            'model, and ops the profiler skipped for incomplete shapes.', '']
  for r in results:
    lines.append('- %s (%s): train %s / %s; eval %s / %s; load %s; skipped '
                 'ops %d' % (r['model'], r['module'],
                    ', '.join('%.2f' % x for x in r['train_rounds'][0]),
                    ', '.join('%.2f' % x for x in r['train_rounds'][1]),
                    ', '.join('%.2f' % x for x in r['eval_rounds'][0]),
                    ', '.join('%.2f' % x for x in r['eval_rounds'][1]),
                    r['load'], r['incomplete']))
  lines.append('')
  return '\n'.join(lines)


def _ratio_rows(base, other):
  """Rows of other / base images/s for the models both runs measured."""
  done = {(r['model'], r['module']): r for r in base['results']}
  rows = []
  for r in other['results']:
    b = done.get((r['model'], r['module']))
    if b:
      rows.append('| %s | %s | %.2fx | %.2fx | %.2fx | %.2fx |' % (
          r['model'], r['module'], r['train'][0] / b['train'][0],
          r['train'][1] / b['train'][1], r['eval'][0] / b['eval'][0],
          r['eval'][1] / b['eval'][1]))
  return rows


def render_all(runs):
  """The whole report: one section per runtime, then their speed ratios.

  Args:
    runs: `run_record` dicts, one per runtime (e.g. read back from the
      `<output>-tf1.json` and `<output>-tf2.json` files).

  Returns:
    Markdown text.
  """
  runs = sorted(runs, key=lambda run: run['key'])
  modules = sorted({r['module'] for run in runs for r in run['results']})
  lines = ['# SE-Slim benchmark: the cost of %s' % (
      ', '.join(modules) or 'attention'), '',
           'One section per runtime (%s), each written by '
           '`bench/se_overhead.py` run with that runtime\'s venv; the last '
           'section compares them.' %
           ', '.join(run['runtime'] for run in runs), '']
  for run in runs:
    lines.append(render(run))
  for other in runs[1:]:
    base = runs[0]
    same = (base['command'].split(' ', 1)[-1] ==
            other['command'].split(' ', 1)[-1])
    lines += ['## %s / %s speed' % (other['runtime'], base['runtime']), '',
              'Images/s of %s over images/s of %s, best rounds%s.' % (
                  other['runtime'], base['runtime'],
                  ', same flags' if same else
                  ' (**the two commands differ**: see each section)'),
              '', '| model | module | train | att. train | eval | att. eval |',
              '|---|---|---:|---:|---:|---:|']
    lines += _ratio_rows(base, other) + ['']
  return '\n'.join(lines)


def see_also(output):
  """A closing section linking the other reports kept beside `output`.

  The XLA, Horovod and other-module runs (bench/xla.py,
  bench/horovod_scaling.py, --attention_module) keep their own Markdown
  reports in the same directory; the main report points at each.
  """
  directory = os.path.dirname(os.path.abspath(output))
  own = os.path.basename(output)
  others = sorted(os.path.basename(p) for p in glob.glob(
      os.path.join(directory, 'results*.md')) if os.path.basename(p) != own)
  if not others:
    return ''
  titles = []
  for name in others:
    with open(os.path.join(directory, name)) as f:
      title = f.readline().lstrip('#').strip()
    titles.append('- [%s](%s): %s' % (name, name, title))
  return '\n'.join(['', '## Other reports in this directory', ''] + titles +
                   [''])


def json_path(output, key):
  """Where a runtime's raw record of `output` is kept."""
  return '%s-%s.json' % (os.path.splitext(output)[0], key)


def read_runs(output):
  """The run records of every runtime kept beside `output`."""
  runs = []
  for path in sorted(glob.glob(json_path(output, 'tf*'))):
    with open(path) as f:
      runs.append(json.load(f))
  return runs


def write_atomic(path, text):
  """Writes `text` to `path` through a temporary file and a rename."""
  directory = os.path.dirname(os.path.abspath(path))
  if not os.path.isdir(directory):
    os.makedirs(directory)
  tmp = '%s.tmp.%d' % (path, os.getpid())
  with open(tmp, 'w') as f:
    f.write(text)
  os.replace(tmp, path)


# ----------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------

def resolve_models(requested):
  """Returns the models to run.

  Args:
    requested: list of names, or None for the paper's ten that are
      registered.

  Returns:
    A list of model names.

  Raises:
    ValueError: for a name that is not a model taking attention; the message
      lists the valid names.
  """
  valid = nets_factory.attention_model_names()
  if not requested:
    return [m for m in PAPER_MODELS if m in valid]
  for name in requested:
    if name not in valid:
      raise ValueError('Unknown or non-attention model %r; expected one of: %s'
                       % (name, ', '.join(valid)))
  return list(requested)


def benchmark_model(model, image_size, settings, config):
  """Measures one model with and without its module; returns a result dict."""
  variants = (None, settings.get('attention_module', SE))  # plain first
  size = image_size or nets_factory.get_network_fn(
      model, settings['num_classes']).default_image_size
  load = _load()
  common = dict(num_classes=settings['num_classes'],
                reduction_ratio=settings['reduction_ratio'])
  incomplete = 0
  train_flops, runners = [], collections.OrderedDict()
  try:
    for variant in variants:
      graph, train_op = build_train_graph(
          model, variant, settings['batch_size'], size,
          weight_decay=settings['weight_decay'],
          learning_rate=settings['learning_rate'],
          momentum=settings['momentum'], **common)
      count, missing = count_flops(graph, [train_op])
      train_flops.append(count / settings['batch_size'])
      incomplete += missing
      runners[variant] = _Runner(graph, train_op, config)
    train_rounds = alternate(runners, settings['batch_size'],
                             settings['steps'], settings['warmup_steps'],
                             settings['rounds'])
  finally:
    for runner in runners.values():
      runner.close()

  flops, runners = [], collections.OrderedDict()
  try:
    for variant in variants:
      graph, logits = build_eval_graph(model, variant, settings['batch_size'],
                                       size, **common)
      # Counted on the timed batch-N graph: FLOPs per image = count / N,
      # the same as the batch-1 count (see `inference_flops`).
      count, missing = count_flops(graph, [logits])
      flops.append(count / settings['batch_size'])
      incomplete += missing
      runners[variant] = _Runner(graph, logits, config)
    eval_rounds = alternate(runners, settings['batch_size'],
                            settings['steps'], settings['warmup_steps'],
                            settings['rounds'])
  finally:
    for runner in runners.values():
      runner.close()

  train = [max(train_rounds[v]) for v in variants]
  evaluate = [max(eval_rounds[v]) for v in variants]
  return dict(model=model, module=variants[1], size=size, load=load,
              flops=flops,
              incomplete=incomplete, train_flops=train_flops,
              train=train, eval=evaluate,
              train_rounds=[train_rounds[v] for v in variants],
              eval_rounds=[eval_rounds[v] for v in variants],
              train_overhead=overhead(*train),
              eval_overhead=overhead(*evaluate))


def main(argv):
  del argv  # Unused.
  models = resolve_models(FLAGS.models)
  settings = dict(batch_size=FLAGS.batch_size, steps=FLAGS.steps,
                  warmup_steps=FLAGS.warmup_steps, rounds=FLAGS.rounds,
                  peak_runs=FLAGS.peak_runs, num_classes=FLAGS.num_classes,
                  attention_module=FLAGS.attention_module,
                  reduction_ratio=FLAGS.reduction_ratio,
                  weight_decay=FLAGS.weight_decay,
                  learning_rate=FLAGS.learning_rate, momentum=FLAGS.momentum)
  config = session_config(FLAGS.intra_op_threads, FLAGS.inter_op_threads)
  python = os.path.relpath(sys.executable, _ROOT)
  if python.startswith('..'):
    python = sys.executable
  command = ' '.join([python, 'bench/se_overhead.py'] + [
      FLAGS[name].serialize() for name in _FLAG_NAMES if FLAGS[name].present])
  info = machine_info()
  load_start = _load()
  print('Machine: %s' % '; '.join('%s: %s' % kv for kv in info.items()))
  print('Load average at start: %s' % load_start)

  # On a shared machine one measurement can land in a busy moment; the peak
  # is a property of the machine, so the best of all measurements is kept.
  peaks = []

  def remeasure_peak():
    peaks.append(measure_matmul_peak(FLAGS.peak_size, FLAGS.peak_runs, config))
    print('Matmul: %.1f GFLOP/s (peak so far %.1f)' % (peaks[-1] / 1e9,
                                                        max(peaks) / 1e9))

  results = []
  text = ''
  for i, model in enumerate(models):
    remeasure_peak()
    start = time.time()
    results.append(benchmark_model(model, FLAGS.image_size, settings, config))
    print('%s done in %.0f s' % (model, time.time() - start))
    if i == len(models) - 1:
      remeasure_peak()
    run = run_record(results, info, command, peaks, FLAGS.peak_size,
                     load_start, len(results), len(models), settings)
    write_atomic(json_path(FLAGS.output, run['key']),
                 json.dumps(run, indent=1, sort_keys=True))
    # The other runtime's section, if it has run, stays in the report.
    text = render_all(read_runs(FLAGS.output)) + see_also(FLAGS.output)
    write_atomic(FLAGS.output, text)
  print(text)
  print('Wrote %s' % FLAGS.output)


if __name__ == '__main__':
  define_flags()
  app.run(main)
