"""Tests of --mixed_precision and --xla (train_lib/accelerate.py), on the CPU.

Mixed precision: on a machine without a GPU the rewrite changes no op, but
the dynamic loss scaling is real: its variables are in the graph and the
checkpoint, and in float32 no step overflows, so after N steps the scale is
still its initial 2**15 and `good_steps` is N. Training converges and the
checkpoint evaluates without the flag.

XLA: TensorFlow reads TF_XLA_FLAGS (which must hold --tf_xla_cpu_global_jit
for CPU clustering) once per process, so the runs with and without --xla
happen in one fresh subprocess, which also asks XLA to dump what it compiled
(proof that the graph really went through XLA).
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tests import test_train_util as util
from tests.test_train import _LogCapture  # pylint: disable=g-importing-member
from train_lib import accelerate
from train_lib import evaluation
from train_lib import training

tf.disable_eager_execution()

_STEP_LOSS = re.compile(r'^step (\d+): loss = ([\d.]+)')

# The mixed-precision run: SE-ResNet-50 (widths / 8) with adam on digits.
# 80 steps: at 40, TF 2's run had only fallen from 3.06 to 2.55 (ten-step
# means); at 80 both runtimes end near 1.8 (first ten: 3.5 and 3.1).
_MP_STEPS = 80
_INITIAL_LOSS_SCALE = 2.0 ** 15  # DynamicLossScale's default


def _config(train_dir, **kw):
  values = dict(train_dir=train_dir, dataset_name='digits',
                dataset_dir=util.digits_dir(), train_image_size=32,
                batch_size=16, num_readers=1, num_preprocessing_threads=1,
                log_every_n_steps=1, network_kwargs=util.SMALL_RESNET,
                random_seed=1, preprocessing_name='lenet', optimizer='adam',
                opt_epsilon=1e-8, learning_rate=0.006,
                learning_rate_decay_type='fixed', batch_norm_decay=0.9,
                **util.SE_MODEL)
  values.update(kw)
  return training.TrainConfig(**values)


# setUpClass's run is shared: one worker runs the class (--dist loadgroup).
@pytest.mark.xdist_group('MixedPrecisionTest')
class MixedPrecisionTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super(MixedPrecisionTest, cls).setUpClass()
    cls.train_dir = tempfile.mkdtemp()
    with _LogCapture() as log:
      cls.result = training.train(_config(
          cls.train_dir, mixed_precision=True,
          max_number_of_steps=_MP_STEPS))
    cls.lines = log.lines

  def test_one_warning_that_nothing_runs_in_float16(self):
    if training.num_local_gpus():
      self.skipTest('this machine has a GPU: the rewrite does run float16')
    self.assertEqual(self.lines.count(accelerate.NO_GPU_WARNING), 1)
    self.assertIn('float16', accelerate.NO_GPU_WARNING)

  def test_loss_scale_is_in_the_graph_and_the_checkpoint(self):
    checkpoint = self.result['checkpoint']
    with tf.Graph().as_default():
      tf.train.import_meta_graph(checkpoint + '.meta')
      names = {v.op.name for v in tf.global_variables()}
    for name in accelerate.LOSS_SCALE_VARIABLES:
      self.assertIn(name, names)
    reader = tf.train.NewCheckpointReader(checkpoint)
    # Float32 gradients on the CPU never overflow: the scale never halved,
    # and every step counted as a good one.
    self.assertEqual(reader.get_tensor('current_loss_scale'),
                     _INITIAL_LOSS_SCALE)
    self.assertEqual(reader.get_tensor('good_steps'), _MP_STEPS)
    self.assertEqual(reader.get_tensor('global_step'), _MP_STEPS)

  def test_training_converges(self):
    losses = {}
    for line in self.lines:
      match = _STEP_LOSS.match(line)
      if match:
        losses[int(match.group(1))] = float(match.group(2))
    self.assertEqual(sorted(losses), list(range(1, _MP_STEPS + 1)))
    first = np.mean([losses[s] for s in range(1, 11)])
    last = np.mean([losses[s] for s in range(_MP_STEPS - 9, _MP_STEPS + 1)])
    # Chance is ln(10) = 2.3 plus the regularization; ten-step means damp
    # the batch-to-batch noise (single losses range over +-0.8).
    self.assertLess(last, 0.75 * first, (first, last, losses))

  def test_checkpoint_evaluates_without_the_flag(self):
    evaluator = evaluation.Evaluator(evaluation.EvalConfig(
        dataset_name='digits', dataset_split_name='validation',
        dataset_dir=util.digits_dir(), eval_image_size=32, batch_size=100,
        num_preprocessing_threads=1, preprocessing_name='lenet',
        network_kwargs=util.SMALL_RESNET, eval_dir=tempfile.mkdtemp(),
        **util.SE_MODEL))
    try:
      metrics = evaluator.evaluate(self.train_dir)
    finally:
      evaluator.close()
    self.assertEqual(metrics['global_step'], _MP_STEPS)
    self.assertEqual(metrics['num_examples'], 359)
    self.assertBetween(metrics['eval/Accuracy'], 0.0, 1.0)

  def test_rejects_sync_replicas(self):
    with self.assertRaisesRegex(training.errors.UserError,
                                '--mixed_precision does not combine'):
      training.train(_config(tempfile.mkdtemp(), mixed_precision=True,
                             sync_replicas=True, max_number_of_steps=1))


class SessionConfigTest(tf.test.TestCase):

  def test_flags_set_the_session_config(self):
    from tensorflow.core.protobuf import rewriter_config_pb2  # pylint: disable=g-import-not-at-top
    config = accelerate.configure_session(tf.ConfigProto(),
                                          mixed_precision=True, xla=True,
                                          num_gpus=1)
    self.assertEqual(config.graph_options.rewrite_options.auto_mixed_precision,
                     rewriter_config_pb2.RewriterConfig.ON)
    self.assertEqual(config.graph_options.optimizer_options.global_jit_level,
                     tf.OptimizerOptions.ON_1)
    plain = accelerate.configure_session(tf.ConfigProto())
    self.assertEqual(plain, tf.ConfigProto())


# Trains the same seeded model a few steps without and with --xla in one
# process and prints the variables' largest differences as JSON.
_XLA_SCRIPT = textwrap.dedent('''
    import json, os, sys, tempfile
    sys.path.insert(0, %(repo)r)
    from train_lib import accelerate
    accelerate.enable_cpu_jit()
    import numpy as np
    import tensorflow.compat.v1 as tf
    from tests import test_bench
    from train_lib import training
    # The tiny conv-BN-SE-logits model of test_bench: XLA compiles a
    # ResNet's training graph for many minutes on a busy 2-core machine.
    exec(test_bench._TINY_MODEL, {})
    values = {}
    for xla in (False, True):
      result = training.train(training.TrainConfig(
          train_dir=tempfile.mkdtemp(), dataset_name='digits',
          dataset_dir=%(digits)r, train_image_size=32, batch_size=4,
          num_readers=1, num_preprocessing_threads=1,
          random_seed=1, preprocessing_name='lenet',
          model_name='tiny', attention_module='se_block', xla=xla,
          optimizer='sgd', learning_rate_decay_type='fixed',
          max_number_of_steps=%(steps)d))
      for step in (0, %(steps)d):
        reader = tf.train.NewCheckpointReader(
            result['checkpoint'].rsplit('-', 1)[0] + '-%%d' %% step)
        values[xla, step] = {k: reader.get_tensor(k)
                             for k in reader.get_variable_to_shape_map()}
    out = {}
    for name, plain in values[False, %(steps)d].items():
      if plain.dtype.kind == 'f':
        out[name] = [
            float(np.max(np.abs(values[True, %(steps)d][name] - plain))),
            float(np.max(np.abs(plain))),
            float(np.max(np.abs(plain - values[False, 0][name])))]
    print('RESULT ' + json.dumps(out))
''')


@pytest.mark.long
class XlaTest(tf.test.TestCase):

  def test_same_weights_within_float_tolerance(self):
    dump_dir = tempfile.mkdtemp()
    script = _XLA_SCRIPT % dict(repo=util.REPO, digits=util.digits_dir(),
                                steps=3)
    env = util.script_env({'XLA_FLAGS': '--xla_dump_to=%s' % dump_dir})
    env.pop('TF_XLA_FLAGS', None)
    proc = subprocess.run([sys.executable, '-c', script], cwd=util.REPO,
                          env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=900)
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    line = [l for l in proc.stdout.splitlines() if l.startswith('RESULT ')]
    diffs = json.loads(line[-1][len('RESULT '):])
    # XLA compiled clusters of the --xla run (and only that run asks it to).
    self.assertTrue(os.listdir(dump_dir), 'XLA compiled nothing')
    # XLA fuses and reorders float32 arithmetic: differences of a few ulps
    # per op, grown by 3 SGD steps through batch norm; a wrong result (a
    # missing update, a dropped op) differs by the size of an update or more.
    for name, (diff, scale, _) in diffs.items():
      self.assertLessEqual(diff, 1e-3 * max(scale, 1.0), name)
    # The comparison is not vacuous: training moved the weights by far more.
    largest_update = max(update for _, _, update in diffs.values())
    largest_diff = max(diff for diff, _, _ in diffs.values())
    self.assertLess(largest_diff, 0.01 * largest_update)
    self.assertGreater(len(diffs), 5)


if __name__ == '__main__':
  tf.test.main()
