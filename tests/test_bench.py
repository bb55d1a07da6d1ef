"""Tests of bench/se_overhead.py: its FLOP counting and one end-to-end run."""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os
import subprocess
import sys
import textwrap

import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

import tf_compat
from bench import se_overhead
from nets import attention

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A model small enough to build a training graph in a second: one conv, batch
# norm, attention, pooling, logits. Used by the count and end-to-end tests.
_TINY_MODEL = textwrap.dedent('''
    import tensorflow.compat.v1 as tf
    import tf_slim as slim
    from nets import attention
    from nets import nets_factory

    def tiny(images, num_classes=None, is_training=True,
             attention_module=None, scope='tiny'):
      with tf.variable_scope(scope, 'tiny', [images]):
        net = slim.conv2d(images, 32, [3, 3], stride=2, scope='conv1',
                          normalizer_fn=slim.batch_norm,
                          normalizer_params={'is_training': is_training})
        net = attention.apply_attention(attention_module, net)
        net = tf.reduce_mean(net, [1, 2], keepdims=True)
        logits = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                             scope='logits')
      return tf.squeeze(logits, [1, 2]), {}

    def tiny_arg_scope(weight_decay=0.0):
      with slim.arg_scope([slim.conv2d],
                          weights_regularizer=slim.l2_regularizer(
                              weight_decay)) as sc:
        return sc

    tiny.default_image_size = 16
    nets_factory._MODELS['tiny'] = nets_factory.ModelSpec(
        builder=tiny, arg_scope=tiny_arg_scope, default_image_size=16,
        preprocessing=None, supports_attention=True)
''')


@pytest.fixture
def tiny_model():
  """Registers the tiny model for the test, then removes it."""
  from nets import nets_factory  # pylint: disable=g-import-not-at-top
  exec(_TINY_MODEL, {})  # pylint: disable=exec-used
  yield 'tiny'
  del nets_factory._MODELS['tiny']  # pylint: disable=protected-access


def test_matmul_flops_counts_multiplies_and_adds():
  assert se_overhead.matmul_flops(2) == 16
  assert se_overhead.matmul_flops(4096) == 2 * 4096 ** 3


def test_count_flops_of_one_matmul_is_analytic():
  with tf.Graph().as_default() as graph:
    a = tf.zeros([2, 5])
    b = tf.zeros([5, 7])
    product = tf.matmul(a, b)
  flops, incomplete = se_overhead.count_flops(graph, [product])
  assert flops == 2 * 2 * 5 * 7
  assert incomplete == 0


def test_count_flops_of_one_conv_is_analytic():
  with tf.Graph().as_default() as graph:
    images = tf.zeros([1, 8, 8, 3])
    kernel = tf.zeros([3, 3, 3, 4])
    net = tf.nn.conv2d(images, kernel, strides=[1, 1, 1, 1], padding='SAME')
  flops, _ = se_overhead.count_flops(graph, [net])
  # 2 * (k*k*Cin) * Cout * Hout*Wout
  assert flops == 2 * 3 * 3 * 3 * 4 * 8 * 8


def test_count_flops_skips_variable_initializers():
  """Initializers (random * stddev + mean) are not part of the model's cost."""
  with tf.Graph().as_default() as graph:
    images = tf.zeros([1, 8, 8, 3])
    net = slim.conv2d(images, 4, [3, 3], activation_fn=None,
                      biases_initializer=None,
                      weights_initializer=tf.truncated_normal_initializer(
                          mean=1.0, stddev=0.1))
  flops, _ = se_overhead.count_flops(graph, [net])
  assert flops == 2 * 3 * 3 * 3 * 4 * 8 * 8


def test_count_flops_reports_incomplete_shapes():
  with tf.Graph().as_default() as graph:
    a = tf.placeholder(tf.float32, [None, 5])
    product = tf.matmul(a, tf.zeros([5, 7]))
  flops, incomplete = se_overhead.count_flops(graph, [product])
  assert flops == 0
  assert incomplete == 1


def test_se_block_flops_match_formula():
  """SE on [1, H, W, C], r=16: mean HWC, fc1 2Cu + u, fc2 2uC + C, scale HWC."""
  h, w, c, r = 4, 4, 32, 16
  u = attention.se_units(c, r)
  with tf.Graph().as_default() as graph:
    net = attention.se_block(tf.zeros([1, h, w, c]), reduction_ratio=r)
  flops, incomplete = se_overhead.count_flops(graph, [net])
  assert flops == 2 * h * w * c + 4 * c * u + u + c  # = 1314
  assert flops == 1314
  assert incomplete == 0


def test_inference_flops_per_image_do_not_depend_on_batch(tiny_model):
  """What lets the benchmark count on the timed batch-N graph."""
  one, _ = se_overhead.inference_flops(tiny_model, 'se_block', 16, 10, 16,
                                       batch_size=1)
  four, _ = se_overhead.inference_flops(tiny_model, 'se_block', 16, 10, 16,
                                        batch_size=4)
  assert one == four
  plain, _ = se_overhead.inference_flops(tiny_model, None, 16, 10, 16)
  # SE at 8 x 8 x 32 after the stride-2 conv, r=16: 2 units.
  assert one - plain == 2 * 8 * 8 * 32 + 4 * 32 * 2 + 2 + 32


def test_training_flops_are_about_three_times_inference(tiny_model):
  graph, train_op = se_overhead.build_train_graph(
      tiny_model, None, 4, 16, num_classes=10, reduction_ratio=16,
      weight_decay=0.0, learning_rate=0.1, momentum=0.9)
  train, incomplete = se_overhead.count_flops(graph, [train_op])
  forward, _ = se_overhead.inference_flops(tiny_model, None, 16, 10, 16,
                                           batch_size=4)
  assert incomplete == 0
  # Backward through a conv costs two convs (input and filter gradients); the
  # first conv needs no input gradient, so the ratio sits between 2 and 3.5.
  assert 2.0 <= train / 4 / forward <= 3.5


def test_overhead_and_verdict():
  assert se_overhead.overhead(100.0, 80.0) == pytest.approx(0.25)
  assert se_overhead.overhead(100.0, 100.0) == 0.0
  assert se_overhead.verdict(0.10, 0.10) == 'PASS'
  assert se_overhead.verdict(0.11, 0.10) == 'MISS'
  assert se_overhead.verdict(0.69, 0.70, at_most=False) == 'MISS'
  assert se_overhead.verdict(0.70, 0.70, at_most=False) == 'PASS'


def test_resolve_models_defaults_to_the_paper_models_and_rejects_others():
  models = se_overhead.resolve_models(None)
  assert set(models) <= set(se_overhead.PAPER_MODELS)
  assert 'resnet_v1_50' in models
  assert se_overhead.resolve_models(['resnet_v2_50']) == ['resnet_v2_50']
  with pytest.raises(ValueError, match="'lenet'.*expected one of: .*resnet"):
    se_overhead.resolve_models(['lenet'])


def test_alternate_orders_rounds_abba():
  calls = []

  class FakeRunner(object):

    def __init__(self, name):
      self.name = name

    def run(self, steps):
      calls.append((self.name, steps))
      return 0.5 if self.name == 'a' else 1.0

  rates = se_overhead.alternate({'a': FakeRunner('a'), 'b': FakeRunner('b')},
                                batch_size=4, steps=2, warmup_steps=1,
                                rounds=3)
  assert calls == [('a', 1), ('b', 1), ('a', 2), ('b', 2), ('b', 2), ('a', 2),
                   ('a', 2), ('b', 2)]
  assert rates == {'a': [16.0, 16.0, 16.0], 'b': [8.0, 8.0, 8.0]}


@pytest.mark.long
def test_script_runs_end_to_end(tmp_path):
  """The script's main on the tiny model, 1 step, writes the tables."""
  output = os.path.join(str(tmp_path), 'results.md')
  driver = _TINY_MODEL + textwrap.dedent('''
      from absl import app
      from bench import se_overhead
      se_overhead.define_flags()
      app.run(se_overhead.main, argv=[
          'se_overhead.py', '--models=tiny', '--image_size=16',
          '--batch_size=2', '--steps=1', '--warmup_steps=1', '--rounds=2',
          '--peak_size=64', '--peak_runs=1', '--num_classes=10',
          '--output=%s'])
  ''' % output)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  proc = subprocess.run([sys.executable, '-c', driver], cwd=_ROOT, env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        timeout=300)
  log = proc.stdout.decode()
  assert proc.returncode == 0, log
  with open(output) as f:
    text = f.read()
  assert 'Partial' not in text
  assert '--models=tiny' in text
  assert '- Cores: %d' % os.cpu_count() in text
  rows = [l for l in text.splitlines() if l.startswith('| tiny |')]
  assert len(rows) == 3  # throughput, FLOPs, fraction of peak
  assert text.startswith('# SE-Slim benchmark: the cost of se_block')
  assert all('| se_block |' in row for row in rows)  # the row's module
  assert rows[0].count('PASS') + rows[0].count('MISS') == 2
  # FLOPs row. Plain: conv 2*27*32*64 + mean 8*8*32 + logits 2*32*10 + 10
  # = 113290; SE adds 2*8*8*32 + 4*32*2 + 2 + 32 = 4386, i.e. +3.87%.
  assert '| tiny | 16 |' in rows[1]
  assert '| +3.87% |' in rows[1]
  # The runtime's raw record beside the report; no temporary left.
  key = tf_compat.RUNTIME_KEY
  assert sorted(os.listdir(str(tmp_path))) == ['results-%s.json' % key,
                                                'results.md']
  assert '## %s' % tf_compat.RUNTIME in text
  run, = se_overhead.read_runs(output)
  assert run['key'] == key and run['results'][0]['model'] == 'tiny'
  assert rows[0] in log  # the table is printed too


def _run(key, train, evaluate, rounds=(1.0, 1.0)):
  result = dict(model='resnet_v1_50', module='se_block', size=224, load='0',
                flops=[2e9, 2.01e9], incomplete=0, train_flops=[6e9, 6.03e9],
                train=train, eval=evaluate,
                train_rounds=[list(rounds), [train[1]]],
                eval_rounds=[[evaluate[0]], [evaluate[1]]],
                train_overhead=se_overhead.overhead(*train),
                eval_overhead=se_overhead.overhead(*evaluate))
  return dict(runtime='TF %s' % key, key=key, date='d', results=[result],
              info={}, command='python bench/se_overhead.py --steps=3',
              peaks=[100e9], peak_size=64, load_start='0', load_end='0',
              finished=1, total=1, settings=dict(batch_size=16, steps=3,
                                                 rounds=2, warmup_steps=1,
                                                 peak_runs=1))


def test_report_has_both_runtimes_their_ratio_and_their_own_peak_target():
  tf1 = _run('tf1', [2.0, 1.9], [10.0, 9.8], rounds=(2.0, 1.5))
  tf2 = _run('tf2', [5.0, 4.0], [20.0, 19.6])
  text = se_overhead.render_all([tf2, tf1])  # any order in
  assert text.index('## TF tf1') < text.index('## TF tf2')
  ratio = [l for l in text.splitlines() if l.startswith('| resnet_v1_50 | '
                                                       'se_block | 2.50x')]
  assert ratio == ['| resnet_v1_50 | se_block | 2.50x | 2.11x | 2.00x | '
                   '2.00x |']
  assert '## TF tf2 / TF tf1 speed' in text and ', same flags' in text
  # Spread of the noisier variant: (2.0 - 1.5) / 2.0 = 25%.
  assert '| +5.3% | 25.0% | MISS |' in text
  # 6.03e9 * 1.9 / 100e9 = 11.5% of peak: a MISS against either target,
  # and each runtime's section names its own target.
  assert '| SE >= 70% |' in text and '| SE >= 85% |' in text


def test_see_also_links_every_other_report_by_its_title(tmp_path):
  for name, title in [('results.md', 'Main'), ('results_xla.md', 'XLA rows'),
                      ('results_cbam.md', 'CBAM rows')]:
    (tmp_path / name).write_text('# %s\n\nbody\n' % title)
  (tmp_path / 'notes.md').write_text('# not a report\n')
  text = se_overhead.see_also(str(tmp_path / 'results.md'))
  links = [l for l in text.splitlines() if l.startswith('- ')]
  assert links == ['- [results_cbam.md](results_cbam.md): CBAM rows',
                   '- [results_xla.md](results_xla.md): XLA rows']
  assert se_overhead.see_also(str(tmp_path / 'empty' / 'results.md')) == ''


def test_attention_costs_tool_counts_and_refuses_in_one_line():
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  tool = os.path.join(root, 'tools', 'attention_costs.py')
  ok = subprocess.run([sys.executable, tool, 'resnet_v1_50'],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                      cwd=root, timeout=300)
  assert ok.returncode == 0, ok.stderr.decode()[-2000:]
  row = [l for l in ok.stdout.decode().splitlines()
         if l.startswith('| resnet_v1_50 |')]
  # 16 bottleneck units; SE's fc1/fc2 with biases at r=16 (the registry's
  # formula): 2 C^2/16 + C/16 + C over C = 256 x3, 512 x4, 1024 x6, 2048 x3.
  se = sum(n * (2 * c * c // 16 + c // 16 + c)
           for n, c in [(3, 256), (4, 512), (6, 1024), (3, 2048)])
  cells = [c.strip() for c in row[0].strip('|').split('|')]
  header = [c.strip() for c in ok.stdout.decode().splitlines()[0]
            .strip('|').split('|')]
  assert cells[1] == '16'
  assert int(cells[header.index('se_block params')]) == se
  bad = subprocess.run([sys.executable, tool, 'resnet_v1_51'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       cwd=root, timeout=300)
  err = bad.stderr.decode().strip().splitlines()
  assert bad.returncode == 2 and len(err) == 1
  assert "'resnet_v1_51'" in err[0] and 'resnet_v1_50' in err[0]
