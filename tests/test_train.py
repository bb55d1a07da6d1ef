"""Tests of train_lib.training and train_lib.finetune (in-process)."""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import logging as std_logging
import os
import re
import tempfile

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import nets_factory
from tests import test_train_util as util
from train_lib import errors
from train_lib import finetune
from train_lib import training

tf.disable_eager_execution()


def _se_config(train_dir, **kw):
  values = dict(train_dir=train_dir, dataset_name='digits',
                dataset_dir=util.digits_dir(), train_image_size=32,
                batch_size=2, num_readers=1, num_preprocessing_threads=1,
                log_every_n_steps=2, network_kwargs=util.SMALL_RESNET,
                random_seed=1,
                **util.SE_MODEL)
  values.update(kw)
  return training.TrainConfig(**values)


class _LogCapture(std_logging.Handler):

  def __init__(self):
    super(_LogCapture, self).__init__()
    self.lines = []

  def emit(self, record):
    self.lines.append(record.getMessage())

  def __enter__(self):
    logger = std_logging.getLogger('absl')
    self._old_level = logger.level
    logger.setLevel(std_logging.INFO)
    logger.addHandler(self)
    return self

  def __exit__(self, *args):
    logger = std_logging.getLogger('absl')
    logger.removeHandler(self)
    logger.setLevel(self._old_level)


class LearningRateTest(tf.test.TestCase):

  def test_decay_steps_as_slim(self):
    self.assertEqual(training.learning_rate_decay_steps(1000, 32, 2.0),
                     (1000 / 32, 62))
    # Sync replicas aggregate 4 batches per step.
    self.assertEqual(
        training.learning_rate_decay_steps(1000, 32, 2.0, True, 4)[1], 15)

  def _values(self, steps, **kw):
    with tf.Graph().as_default():
      step = tf.placeholder(tf.int64, [])
      lr = training.configure_learning_rate(step, 100, 10, **kw)
      with self.session() as sess:
        return [sess.run(lr, {step: s}) for s in steps]

  def test_exponential_staircase(self):
    # 10 steps per epoch, decay every 2 epochs = 20 steps.
    self.assertAllClose(self._values([0, 19, 20, 45], learning_rate=0.1),
                        [0.1, 0.1, 0.094, 0.1 * 0.94 ** 2])

  def test_polynomial_and_fixed(self):
    self.assertAllClose(
        self._values([0, 10, 20, 30], learning_rate=0.1,
                     learning_rate_decay_type='polynomial',
                     end_learning_rate=0.0),
        [0.1, 0.05, 0.0, 0.0])
    self.assertAllClose(self._values([0, 1000], learning_rate=0.3,
                                     learning_rate_decay_type='fixed'),
                        [0.3, 0.3])

  def test_warmup(self):
    # Warm-up over 1 epoch = 10 steps.
    self.assertAllClose(
        self._values([0, 5, 10, 15], learning_rate=0.1,
                     learning_rate_decay_type='fixed', warmup_epochs=1),
        [0.0, 0.05, 0.1, 0.1])

  def test_too_short_decay_is_a_user_error(self):
    with tf.Graph().as_default():
      with self.assertRaisesRegex(errors.UserError, 'num_epochs_per_decay'):
        training.configure_learning_rate(tf.constant(0), 10, 32)

  def test_optimizers(self):
    expected = {'adadelta': tf.train.AdadeltaOptimizer,
                'adagrad': tf.train.AdagradOptimizer,
                'adam': tf.train.AdamOptimizer,
                'ftrl': tf.train.FtrlOptimizer,
                'momentum': tf.train.MomentumOptimizer,
                'rmsprop': tf.train.RMSPropOptimizer,
                'sgd': tf.train.GradientDescentOptimizer}
    for name, cls in expected.items():
      self.assertIsInstance(training.configure_optimizer(0.1, name), cls)
    opt = training.configure_optimizer(0.1, 'rmsprop', rmsprop_decay=0.8,
                                       rmsprop_momentum=0.7, opt_epsilon=0.5)
    self.assertEqual((opt._decay, opt._momentum, opt._epsilon),
                     (0.8, 0.7, 0.5))
    with self.assertRaisesRegex(errors.UserError, 'adadelta, adagrad'):
      training.configure_optimizer(0.1, 'lamb')


class DevicesTest(tf.test.TestCase):

  def test_cpu_fallback_and_too_many_gpu_clones(self):
    self.assertTrue(training.resolve_clone_on_cpu(2, False, num_gpus=0))
    self.assertTrue(training.resolve_clone_on_cpu(1, True, num_gpus=4))
    self.assertFalse(training.resolve_clone_on_cpu(2, False, num_gpus=2))
    with self.assertRaisesRegex(errors.UserError,
                                r'--num_clones=4 needs 4 GPUs .* has 2'):
      training.resolve_clone_on_cpu(4, False, num_gpus=2)

  def test_cluster_flags(self):
    config = training.TrainConfig(ps_hosts=['h:1'],
                                  worker_hosts=['h:2', 'h:3'],
                                  job_name='worker', task=1)
    resolved, cluster = training._resolve_cluster(config)
    self.assertEqual((resolved.worker_replicas, resolved.num_ps_tasks), (2, 1))
    self.assertEqual(cluster.job_tasks('worker'), ['h:2', 'h:3'])
    with self.assertRaisesRegex(errors.UserError, '--job_name'):
      training._resolve_cluster(training.TrainConfig(worker_hosts=['h:2']))
    with self.assertRaisesRegex(errors.UserError, 'out of range'):
      training._resolve_cluster(training.TrainConfig(
          ps_hosts=['h:1'], worker_hosts=['h:2'], job_name='worker', task=1))
    with self.assertRaisesRegex(errors.UserError, '--worker_replicas=3'):
      training._resolve_cluster(training.TrainConfig(
          ps_hosts=['h:1'], worker_hosts=['h:2', 'h:3'], job_name='worker',
          worker_replicas=3))


def _fake_model_variables(shapes):
  """Creates model variables with the given {name: shape}."""
  out = []
  for name, shape in shapes.items():
    scope, var_name = name.rsplit('/', 1)
    with tf.variable_scope(scope):
      out.append(slim.model_variable(var_name, shape=shape,
                                     initializer=tf.ones_initializer()))
  return out


class WarmStartPlanTest(tf.test.TestCase):

  def setUp(self):
    super(WarmStartPlanTest, self).setUp()
    self.dir = tempfile.mkdtemp()
    self.ckpt = os.path.join(self.dir, 'model.ckpt')
    with tf.Graph().as_default():
      _fake_model_variables({'net/conv1/weights': [3, 3, 3, 8],
                             'net/logits/weights': [8, 1000],
                             'net/logits/biases': [1000]})
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        tf.train.Saver().save(sess, self.ckpt)

  def _model(self, num_classes=1000):
    return _fake_model_variables({
        'net/conv1/weights': [3, 3, 3, 8],
        'net/block1/unit_1/bottleneck_v1/se/fc1/weights': [1, 1, 8, 2],
        'net/block1/unit_1/bottleneck_v1/se/fc2/weights': [1, 1, 2, 8],
        'net/block1/unit_1/bottleneck_v1/se/fc2/biases': [8],
        'net/logits/weights': [8, num_classes],
        'net/logits/biases': [num_classes]})

  def test_se_vars_are_new_and_the_rest_restored(self):
    with tf.Graph().as_default():
      variables = self._model()
      plan = finetune.plan_warm_start(variables, self.dir)
      self.assertEqual(plan.checkpoint, self.ckpt)
      self.assertEqual(sorted(plan.restore), ['net/conv1/weights',
                                              'net/logits/biases',
                                              'net/logits/weights'])
      self.assertEqual(len(plan.new), 3)
      self.assertEqual(plan.excluded, [])
      self.assertIn('restored 3 variables, excluded 0, newly initialised 3 '
                    '(3 attention, 0 other', finetune.plan_summary(plan))

  def test_shape_mismatch_names_variable_and_shapes(self):
    with tf.Graph().as_default():
      variables = self._model(num_classes=5)
      with self.assertRaisesRegex(
          errors.UserError, r'net/logits/weights has shape \[8, 5\] in the '
          r'model but \[8, 1000\] in checkpoint'):
        finetune.plan_warm_start(variables, self.ckpt)
      # Excluding the new head (prefix), and SE with a glob, fixes it.
      plan = finetune.plan_warm_start(
          variables, self.ckpt, exclude_scopes='net/logits, */se/*')
      self.assertEqual(list(plan.restore), ['net/conv1/weights'])
      self.assertEqual(len(plan.excluded), 5)
      self.assertIn('restored 1 variables, excluded 5, newly initialised 0',
                    finetune.plan_summary(plan))

  def test_missing_non_se_variable(self):
    with tf.Graph().as_default():
      variables = self._model() + _fake_model_variables(
          {'net/extra/weights': [2]})
      with self.assertRaisesRegex(errors.UserError,
                                  '1 model variables are missing.*'
                                  'net/extra/weights.*--ignore_missing_vars'):
        finetune.plan_warm_start(variables, self.ckpt)
      plan = finetune.plan_warm_start(variables, self.ckpt,
                                      ignore_missing_vars=True)
      self.assertEqual(len(plan.new), 4)

  def test_missing_checkpoint(self):
    with self.assertRaisesRegex(errors.UserError, 'No checkpoint found'):
      finetune.resolve_checkpoint(tempfile.mkdtemp())
    with self.assertRaisesRegex(errors.UserError, 'does not exist'):
      finetune.resolve_checkpoint('/nonexistent/model.ckpt-1')


class FiniteListenerTest(tf.test.TestCase):

  def test_refuses_to_save_non_finite_variables(self):
    with tf.Graph().as_default():
      good = tf.Variable([1.0, 2.0], name='good')
      bad = tf.Variable([1.0, np.inf], name='bad')
      listener = training._FiniteVariablesListener([good, bad], '/nonexistent')
      ok_listener = training._FiniteVariablesListener([good], '/nonexistent')
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        ok_listener.before_save(sess, 3)
        with self.assertRaisesRegex(errors.TrainingDivergedError,
                                    r'1 variables hold NaN or Inf at step 3 '
                                    r'\(first: bad\)'):
          listener.before_save(sess, 3)


class SEIdentityInitTest(tf.test.TestCase):
  """A fine-tuned SE net starts computing what the non-SE net computed."""

  # Each gate is SE_IDENTITY_GATE = 0.9999 instead of 1 on 16 units, so the
  # logits move by well under 1e-3 of their scale.
  RELATIVE_TOLERANCE = 2e-3

  def _logits(self, attention_module, checkpoint, images, se_init):
    with tf.Graph().as_default():
      network_fn = nets_factory.get_network_fn(
          'resnet_v1_50', util.NUM_CLASSES, is_training=False,
          attention_module=attention_module)
      logits, _ = network_fn(tf.constant(images), **util.SMALL_RESNET)
      plan = finetune.plan_warm_start(slim.get_model_variables(), checkpoint)
      init_fn = finetune.make_init_fn(plan, identity_init=se_init)
      with self.session() as sess:
        sess.run(tf.global_variables_initializer())
        init_fn(sess)
        return sess.run(logits), plan

  def test_logits_match_non_se_model_at_step_0(self):
    ckpt = os.path.join(tempfile.mkdtemp(), 'model.ckpt')
    util.write_model_checkpoint(ckpt, 'resnet_v1_50',
                                network_kwargs=util.SMALL_RESNET)
    images = np.random.RandomState(0).uniform(
        -1, 1, [4, 32, 32, 3]).astype(np.float32)
    plain, _ = self._logits(None, ckpt, images, se_init=False)
    se_logits, plan = self._logits('se_block', ckpt, images, se_init=True)
    self.assertEqual(sum(finetune.is_attention_variable(v.op.name)
                         for v in plan.new), 16 * 4)
    self.assertEqual(len(plan.new), 64)
    scale = np.max(np.abs(plain))
    self.assertGreater(scale, 0)
    self.assertLess(np.max(np.abs(se_logits - plain)) / scale,
                    self.RELATIVE_TOLERANCE)
    # Without the identity init, the fresh gates (~0.5) change the logits.
    se_plain, _ = self._logits('se_block', ckpt, images, se_init=False)
    self.assertGreater(np.max(np.abs(se_plain - plain)) / scale, 0.01)


# setUpClass's run is shared: one worker runs the class (--dist loadgroup).
@pytest.mark.xdist_group('TrainSEEndToEndTest')
class TrainSEEndToEndTest(tf.test.TestCase):
  """Trains SE-ResNet (small) a few steps, then resumes."""

  @classmethod
  def setUpClass(cls):
    super(TrainSEEndToEndTest, cls).setUpClass()
    cls.train_dir = tempfile.mkdtemp()
    with _LogCapture() as logs:
      cls.result = training.train(_se_config(
          cls.train_dir, max_number_of_steps=4, save_summaries_secs=1,
          flags_text='--model_name=resnet_v1_50\n'))
    cls.logs = logs.lines

  def test_trains_and_saves(self):
    self.assertEqual(self.result['global_step'], 4)
    self.assertTrue(np.isfinite(self.result['loss']))
    self.assertEqual(self.result['checkpoint'],
                     os.path.join(self.train_dir, 'model.ckpt-4'))
    reader = tf.train.NewCheckpointReader(self.result['checkpoint'])
    self.assertEqual(reader.get_tensor('global_step'), 4)
    names = reader.get_variable_to_shape_map()
    se = [n for n in names if finetune.is_attention_variable(n)]
    self.assertEqual(len(se), 64)
    self.assertFalse([n for n in names if n.startswith('clone_')])
    with open(os.path.join(self.train_dir, 'flags.txt')) as f:
      self.assertEqual(f.read(), '--model_name=resnet_v1_50\n')

  def test_progress_lines(self):
    lines = [l for l in self.logs if l.startswith('step ')]
    self.assertEqual(len(lines), 2, self.logs)
    pattern = (r'step (\d+): loss = [\d.]+, lr = 0\.01, [\d.]+ sec/step, '
               r'[\d.]+ images/s')
    self.assertEqual([int(re.match(pattern, l).group(1)) for l in lines],
                     [2, 4])

  def test_summaries(self):
    tags = util.event_tags(self.train_dir)
    for tag in ['learning_rate', 'losses/total_loss',
                'losses/softmax_cross_entropy_loss/value',
                'Losses/regularization_loss',
                'activations/resnet_v1_50/block4',
                'variables/resnet_v1_50/conv1/weights',
                'se_excitation/resnet_v1_50/block1/unit_1/bottleneck_v1/se']:
      self.assertTrue(tag in tags, tag)
    excitations = [t for t in tags if t.startswith('se_excitation/')]
    self.assertEqual(len(excitations), 16)

  def test_resume_continues_from_latest(self):
    with _LogCapture() as logs:
      result = training.train(_se_config(self.train_dir,
                                         max_number_of_steps=6))
    self.assertEqual(result['global_step'], 6)
    self.assertTrue(any(l.startswith('Resuming from %s' %
                                     os.path.join(self.train_dir,
                                                  'model.ckpt-4'))
                        for l in logs.lines), logs.lines)


class RandomSeedTest(tf.test.TestCase):
  """--random_seed repeats a run: initialization, dropout and data order."""

  def _train(self, seed):
    train_dir = tempfile.mkdtemp()
    training.train(training.TrainConfig(
        train_dir=train_dir, dataset_name='digits',
        dataset_dir=util.digits_dir(), model_name='cifarnet',
        train_image_size=32, batch_size=4, num_readers=1,
        num_preprocessing_threads=1, max_number_of_steps=3,
        optimizer='sgd', learning_rate=0.01, random_seed=seed))
    reader = tf.train.NewCheckpointReader(
        os.path.join(train_dir, 'model.ckpt-3'))
    return {n: reader.get_tensor(n)
            for n in reader.get_variable_to_shape_map()}

  def test_same_seed_same_weights_other_seed_other_weights(self):
    first, again, other = self._train(7), self._train(7), self._train(8)
    self.assertEqual(sorted(first), sorted(again))
    for name in first:
      self.assertAllEqual(first[name], again[name], msg=name)
    self.assertGreater(
        np.abs(first['CifarNet/conv1/weights'] -
               other['CifarNet/conv1/weights']).max(), 1e-3)


class FineTuneSEFromNonSETest(tf.test.TestCase):

  def test_warm_start_counts_and_identity_gates(self):
    ckpt_dir = tempfile.mkdtemp()
    saved = util.write_model_checkpoint(
        os.path.join(ckpt_dir, 'model.ckpt-100'), 'resnet_v1_50', step=100,
        network_kwargs=util.SMALL_RESNET)
    num_model_vars = len([n for n in saved if n != 'global_step'])
    train_dir = tempfile.mkdtemp()
    with _LogCapture() as logs:
      result = training.train(_se_config(
          train_dir, checkpoint_path=ckpt_dir, attention_identity_init=True,
          max_number_of_steps=1, optimizer='sgd'))
    self.assertEqual(result['global_step'], 1)  # not the checkpoint's 100
    summary = [l for l in logs.lines if l.startswith('Warm-starting')]
    self.assertEqual(len(summary), 1, logs.lines)
    self.assertIn('restored %d variables, excluded 0, newly initialised 64 '
                  '(64 attention, 0 other missing' % num_model_vars, summary[0])
    # The step-0 checkpoint holds the warm-started values.
    reader = tf.train.NewCheckpointReader(
        os.path.join(train_dir, 'model.ckpt-0'))
    name = 'resnet_v1_50/conv1/weights'
    self.assertAllEqual(reader.get_tensor(name), saved[name])
    se = 'resnet_v1_50/block2/unit_3/bottleneck_v1/se/fc2/'
    self.assertAllEqual(reader.get_tensor(se + 'weights'),
                        np.zeros([1, 1, 4, 64]))  # C = 4 * 16, C/r = 4
    self.assertAllClose(reader.get_tensor(se + 'biases'),
                        np.full([64], finetune.se_identity_bias()))
    self.assertAllClose(1 / (1 + np.exp(-finetune.se_identity_bias())),
                        finetune.SE_IDENTITY_GATE)


class DivergenceTest(tf.test.TestCase):

  def test_nan_loss_stops_and_is_never_saved(self):
    train_dir = tempfile.mkdtemp()
    config = training.TrainConfig(
        train_dir=train_dir, dataset_name='digits',
        dataset_dir=util.digits_dir(), model_name=util.SMALL_MODEL,
        train_image_size=32, batch_size=2, num_clones=2, num_readers=1,
        num_preprocessing_threads=1, optimizer='sgd', learning_rate=1e30,
        learning_rate_decay_type='fixed', max_number_of_steps=50,
        save_interval_secs=1)
    with self.assertRaisesRegex(errors.TrainingDivergedError,
                                r'Training diverged: (loss is (nan|inf)|\d+ '
                                r'variables hold NaN or Inf) at step \d+'):
      training.train(config)
    latest = tf.train.latest_checkpoint(train_dir)
    self.assertIsNotNone(latest)
    reader = tf.train.NewCheckpointReader(latest)
    for name in reader.get_variable_to_shape_map():
      value = reader.get_tensor(name)
      if np.issubdtype(np.asarray(value).dtype, np.floating):
        self.assertTrue(np.all(np.isfinite(value)), name)


if __name__ == '__main__':
  tf.test.main()
