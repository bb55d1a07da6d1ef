"""Tests of train_lib.evaluation: metrics, EMA restore, the evaluation loop.

Checkpoints are written directly (no training) with logits biases so large
that they decide every prediction, so the expected metrics follow from the
labels alone: with biases descending over classes 0..9, the top-1 class is
always 0 and the top-5 classes are always 0..4.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import glob
import os
import shutil
import tempfile

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tests import test_train_util as util
from train_lib import errors
from train_lib import evaluation

tf.disable_eager_execution()

# Logit biases: class 0 first, then 1, ..., 9 (differences of 1e4 dominate).
DESCENDING = np.arange(10, 0, -1).astype(np.float32) * 1e4
# Class 3 first, 0..2 and 4 next.
CLASS_3_FIRST = np.array([9, 8, 7, 10, 6, 0, 0, 0, 0, 0], np.float32) * 1e4


def _config(**kw):
  values = dict(dataset_name='digits', dataset_split_name='validation',
                dataset_dir=util.digits_dir(), model_name='resnet_v1_50',
                attention_module='se_block', eval_image_size=32,
                batch_size=50, num_preprocessing_threads=1,
                network_kwargs=util.SMALL_RESNET)
  values.update(kw)
  return evaluation.EvalConfig(**values)


def _write(path, step, biases=DESCENDING, ema_biases=None):
  return util.write_model_checkpoint(
      path, 'resnet_v1_50', step=step, attention_module='se_block',
      network_kwargs=util.SMALL_RESNET, logits_biases=biases,
      ema_logits_biases=ema_biases)


# setUpClass's run is shared: one worker runs the class (--dist loadgroup).
@pytest.mark.xdist_group('EvaluatorTest')
class EvaluatorTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super(EvaluatorTest, cls).setUpClass()
    cls.labels = util.digits_labels('validation')
    cls.ckpt_dir = tempfile.mkdtemp()
    _write(os.path.join(cls.ckpt_dir, 'model.ckpt-7'), 7,
           ema_biases=CLASS_3_FIRST)
    tf.train.update_checkpoint_state(
        cls.ckpt_dir, os.path.join(cls.ckpt_dir, 'model.ckpt-7'))
    cls.eval_dir = tempfile.mkdtemp()
    cls.evaluator = evaluation.Evaluator(_config(eval_dir=cls.eval_dir,
                                                 max_num_batches=2))

  @classmethod
  def tearDownClass(cls):
    cls.evaluator.close()
    super(EvaluatorTest, cls).tearDownClass()

  def test_metrics_of_a_directory_latest_checkpoint(self):
    metrics = self.evaluator.evaluate(self.ckpt_dir)
    labels = self.labels[:100]  # 2 batches of 50, in file order
    self.assertEqual(metrics['num_examples'], 100)
    self.assertEqual(metrics['global_step'], 7)
    self.assertAllClose(metrics['eval/Accuracy'], np.mean(labels == 0))
    self.assertAllClose(metrics['eval/Recall_5'], np.mean(labels < 5))
    self.assertAllClose(metrics['eval/Top1_error'],
                        1 - np.mean(labels == 0))
    self.assertAllClose(metrics['eval/Top5_error'], 1 - np.mean(labels < 5))
    scalars = util.event_scalars(self.eval_dir)
    self.assertEqual(scalars['eval/Accuracy'][-1][0], 7)
    self.assertAllClose(scalars['eval/Accuracy'][-1][1],
                        metrics['eval/Accuracy'])
    self.assertIn('eval/Top5_error', scalars)

  def test_whole_split_by_default_and_moving_averages(self):
    evaluator = evaluation.Evaluator(_config(eval_dir='',
                                             moving_average_decay=0.99))
    metrics = evaluator.evaluate(os.path.join(self.ckpt_dir, 'model.ckpt-7'))
    # One pass over the split, last partial batch included.
    self.assertEqual(metrics['num_examples'], len(self.labels))
    self.assertAllClose(metrics['eval/Accuracy'], np.mean(self.labels == 3))
    self.assertAllClose(metrics['eval/Recall_5'], np.mean(self.labels < 5))

  def test_bad_checkpoints(self):
    with self.assertRaisesRegex(errors.UserError, 'No checkpoint found'):
      self.evaluator.evaluate(tempfile.mkdtemp())
    plain = os.path.join(tempfile.mkdtemp(), 'model.ckpt-1')
    util.write_model_checkpoint(plain, 'resnet_v1_50',
                                network_kwargs=util.SMALL_RESNET)
    with self.assertRaisesRegex(errors.UserError,
                                r"lacks 64 of the model's \d+ variables, "
                                r'first resnet_v1_50/block1/unit_1/'
                                r'bottleneck_v1/se/'):
      self.evaluator.evaluate(plain)


class _DeletingEvaluator(object):
  """Deletes a checkpoint's files just before loading it (like rotation)."""

  def __init__(self, evaluator, victim):
    self._evaluator = evaluator
    self._victim = victim

  def evaluate(self, checkpoint):
    if checkpoint == self._victim:
      for path in glob.glob(checkpoint + '.*'):
        os.remove(path)
    return self._evaluator.evaluate(checkpoint)


@pytest.mark.long
class EvaluationLoopTest(tf.test.TestCase):

  def test_each_new_checkpoint_once_skips_deleted_and_times_out(self):
    train_dir = tempfile.mkdtemp()
    template = os.path.join(tempfile.mkdtemp(), 'model.ckpt-1')
    _write(template, 1)

    def publish(step):
      """Copies the template as model.ckpt-<step>, updates the state."""
      path = os.path.join(train_dir, 'model.ckpt-%d' % step)
      for f in glob.glob(template + '.*'):
        shutil.copy(f, path + f[len(template):])
      state = tf.train.get_checkpoint_state(train_dir)
      paths = list(state.all_model_checkpoint_paths) if state else []
      tf.train.update_checkpoint_state(train_dir, path, paths + [path])
      return path

    publish(10)
    victim = publish(20)
    now = [0.0]
    sleeps = []

    def fake_sleep(seconds):
      sleeps.append(seconds)
      now[0] += seconds
      if len(sleeps) == 1:
        publish(30)  # a new checkpoint while the loop waits

    evaluator = evaluation.Evaluator(_config(eval_dir='', max_num_batches=1))
    results = evaluation.evaluation_loop(
        _DeletingEvaluator(evaluator, victim), train_dir,
        eval_interval_secs=5, timeout=12, sleep=fake_sleep,
        clock=lambda: now[0])
    self.assertEqual([r['global_step'] for r in results], [1, 1])
    self.assertEqual([os.path.basename(r['checkpoint']) for r in results],
                     ['model.ckpt-10', 'model.ckpt-30'])
    # Polls every 5 s; stops 12 s after the last new checkpoint.
    self.assertEqual(sleeps, [5, 5, 5, 2])
    self.assertEqual(now[0], 17)

  def test_empty_directory_times_out(self):
    evaluator = _NeverCalled()
    now = [0.0]

    def fake_sleep(seconds):
      now[0] += seconds

    results = evaluation.evaluation_loop(
        evaluator, tempfile.mkdtemp(), eval_interval_secs=1, timeout=3,
        sleep=fake_sleep, clock=lambda: now[0])
    self.assertEqual(results, [])
    self.assertEqual(now[0], 3)


class _NeverCalled(object):

  def evaluate(self, checkpoint):
    raise AssertionError('evaluate(%s) called' % checkpoint)


if __name__ == '__main__':
  tf.test.main()
