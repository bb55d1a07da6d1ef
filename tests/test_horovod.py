"""Horovod data-parallel training: 2 Gloo ranks on 127.0.0.1 (CPU).

Each run is `horovodrun --gloo -np 2 -H 127.0.0.1:2 python
tests/horovod_driver.py ...`, which trains the small SE-ResNet-50 on digits
with --distribution=horovod and saves each rank's variables after every step.
Skipped when Horovod is not importable (`make horovod` builds it). The tests
stop every process they start (the job runs in its own process group).
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import copy
import glob
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tests import dataset_testutil as dtu
from tests import test_train_util as util
from train_lib import evaluation
from train_lib import hvd

tf.disable_eager_execution()

try:
  import horovod.tensorflow  # pylint: disable=g-import-not-at-top,unused-import
  _HOROVOD = True
except ImportError:
  _HOROVOD = False

_HOROVODRUN = os.path.join(os.path.dirname(sys.executable), 'horovodrun')
_DRIVER = os.path.join(util.REPO, 'tests', 'horovod_driver.py')
_STEPS = 3


def _command(train_dir, dump_dir, max_steps, save_secs=600):
  return [_HOROVODRUN, '--gloo', '-np', '2', '-H', '127.0.0.1:2',
          sys.executable, _DRIVER, util.digits_dir(), train_dir, dump_dir,
          str(max_steps), str(save_secs)]


def _env():
  return util.script_env({'PYTHONHASHSEED': '0'})


def _run(train_dir, dump_dir, max_steps, timeout=600):
  """Runs the 2-rank job to `max_steps`; returns its combined output."""
  proc = subprocess.Popen(_command(train_dir, dump_dir, max_steps),
                          cwd=util.REPO, env=_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True,
                          start_new_session=True)
  try:
    out, _ = proc.communicate(timeout=timeout)
  finally:
    if proc.poll() is None:
      os.killpg(proc.pid, signal.SIGKILL)
      proc.wait(timeout=30)
  return proc.returncode, out


def _dumps(dump_dir, rank):
  """{step: {name: value}} of one rank's per-step variable dumps."""
  out = {}
  for path in glob.glob(os.path.join(dump_dir, 'rank%d_step*.npz' % rank)):
    step = int(re.search(r'step(\d+)\.npz$', path).group(1))
    with np.load(path) as f:
      out[step] = {k: f[k] for k in f.files}
  return out


def _is_moving_statistic(name):
  return name.endswith('/moving_mean') or name.endswith('/moving_variance')


def _checkpoint_steps(train_dir):
  state = tf.train.get_checkpoint_state(train_dir)
  if state is None:
    return []
  return [int(p.rsplit('-', 1)[1]) for p in state.all_model_checkpoint_paths]


# setUpClass's run is shared: one worker runs the class (--dist loadgroup).
@unittest.skipUnless(_HOROVOD, 'Horovod is not installed (make horovod)')
@pytest.mark.xdist_group('HorovodTest')
class HorovodTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super(HorovodTest, cls).setUpClass()
    cls.train_dir = tempfile.mkdtemp()
    cls.dump_dir = tempfile.mkdtemp()
    cls.returncode, cls.output = _run(cls.train_dir, cls.dump_dir, _STEPS)

  def test_trains_with_equal_weights_on_both_ranks(self):
    self.assertEqual(self.returncode, 0, self.output[-4000:])
    self.assertIn('Horovod: 2 ranks; learning rate x 2', self.output)
    for rank in (0, 1):
      self.assertIn('[%d]<stdout>:RESULT step=%d' % (rank, _STEPS),
                    self.output)
    ranks = [_dumps(self.dump_dir, 0), _dumps(self.dump_dir, 1)]
    self.assertEqual(sorted(ranks[0]), list(range(1, _STEPS + 1)))
    self.assertEqual(sorted(ranks[1]), sorted(ranks[0]))
    for step in ranks[0]:
      first, second = ranks[0][step], ranks[1][step]
      self.assertEqual(sorted(first), sorted(second))
      for name in first:
        if _is_moving_statistic(name):
          continue
        # The same allreduced update on the same weights: bit for bit.
        self.assertAllEqual(first[name], second[name], msg=name)
    # Batch norm statistics are per replica: each rank's own batches.
    last = ranks[0][_STEPS]
    moving = [n for n in last if _is_moving_statistic(n)]
    self.assertTrue(moving)
    self.assertTrue(any(not np.array_equal(last[n], ranks[1][_STEPS][n])
                        for n in moving))
    # SE variables exist and trained identically.
    self.assertTrue([n for n in last if '/se/' in n])

  def test_one_checkpoint_set_by_rank_0(self):
    self.assertEqual(self.returncode, 0, self.output[-4000:])
    self.assertEqual(_checkpoint_steps(self.train_dir), [0, _STEPS])
    reader = tf.train.NewCheckpointReader(
        tf.train.latest_checkpoint(self.train_dir))
    rank0 = _dumps(self.dump_dir, 0)[_STEPS]
    for name in reader.get_variable_to_shape_map():
      self.assertAllEqual(reader.get_tensor(name), rank0[name], msg=name)
    # One event file (rank 0's summaries) and one flags.txt.
    names = os.listdir(self.train_dir)
    self.assertLen([n for n in names if n.startswith('events.')], 1)
    self.assertEqual(open(os.path.join(self.train_dir, 'flags.txt')).read(),
                     '--driver\n')

  def test_eval_loop_evaluates_its_checkpoints(self):
    evaluator = evaluation.Evaluator(evaluation.EvalConfig(
        dataset_name='digits', dataset_split_name='validation',
        dataset_dir=util.digits_dir(), eval_image_size=32, batch_size=100,
        max_num_batches=1, num_preprocessing_threads=1,
        network_kwargs=util.SMALL_RESNET, eval_dir=tempfile.mkdtemp(),
        **util.SE_MODEL))
    try:
      results = evaluation.evaluation_loop(evaluator, self.train_dir,
                                           eval_interval_secs=0, timeout=0)
    finally:
      evaluator.close()
    self.assertEqual([r['global_step'] for r in results], [0, _STEPS])
    for r in results:
      self.assertEqual(r['num_examples'], 100)

  def test_resume_after_sigkill_of_the_whole_job(self):
    train_dir, dump_dir = tempfile.mkdtemp(), tempfile.mkdtemp()
    log_path = os.path.join(train_dir, 'job.log')
    with open(log_path, 'w') as log:
      proc = subprocess.Popen(_command(train_dir, dump_dir, 1000000,
                                       save_secs=1),
                              cwd=util.REPO, env=_env(), stdout=log,
                              stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
      deadline = time.time() + 600
      while time.time() < deadline and not [
          s for s in _checkpoint_steps(train_dir) if s > 0]:
        self.assertIsNone(proc.poll(), open(log_path).read()[-4000:])
        time.sleep(0.5)
      self.assertTrue([s for s in _checkpoint_steps(train_dir) if s > 0],
                      'no checkpoint after step 0 within the deadline')
      time.sleep(1.0)
    finally:
      # SIGKILL horovodrun and both ranks at once.
      os.killpg(proc.pid, signal.SIGKILL)
      proc.wait(timeout=30)
    saved = int(tf.train.NewCheckpointReader(
        tf.train.latest_checkpoint(train_dir)).get_tensor('global_step'))
    for path in glob.glob(os.path.join(dump_dir, '*')):
      os.remove(path)

    returncode, output = _run(train_dir, dump_dir, saved + 2)
    self.assertEqual(returncode, 0, output[-4000:])
    self.assertIn('Resuming from', output)
    ranks = [_dumps(dump_dir, 0), _dumps(dump_dir, 1)]
    self.assertEqual(sorted(ranks[0]), [saved + 1, saved + 2])
    for step in ranks[0]:
      for name, value in ranks[0][step].items():
        if not _is_moving_statistic(name):
          self.assertAllEqual(value, ranks[1][step][name], msg=name)
    self.assertEqual(_checkpoint_steps(train_dir)[-1], saved + 2)


class _FakeHorovod(object):
  """The three calls `hvd.Replica` makes, for rank `rank` of `size`."""

  def __init__(self, rank, size):
    self._rank, self._size = rank, size

  def rank(self):
    return self._rank

  def size(self):
    return self._size

  def local_rank(self):
    return self._rank


class WithoutHorovodTest(tf.test.TestCase):

  def test_each_rank_reads_its_share_of_a_complete_split(self):
    """A rank's share is not an unfinished conversion (the whole split is)."""
    from datasets import dataset_factory  # pylint: disable=g-import-not-at-top
    from datasets import input_pipeline  # pylint: disable=g-import-not-at-top
    split = dataset_factory.get_dataset('digits', 'train', util.digits_dir())
    self.assertEqual(len(split.files), 2)
    identity = lambda image, h, w: tf.cast(image, tf.float32)
    labels = []
    for rank in range(2):
      shard = hvd.Replica(_FakeHorovod(rank, 2)).shard(split)
      self.assertEqual(list(shard.files), list(split.files)[rank::2])
      with tf.Graph().as_default():
        for _, batch_labels in dtu.all_batches(input_pipeline.build_dataset(
            shard, identity, batch_size=50, image_size=32,
            is_training=False)):
          labels.extend(batch_labels.tolist())
    # The two shares together are the split, each record once.
    self.assertEqual(len(labels), split.num_samples)
    # A split whose conversion did not finish is still refused, on any rank.
    broken = copy.copy(split)
    broken.files = list(split.files)[:1]
    shard = hvd.Replica(_FakeHorovod(0, 1)).shard(broken)
    with self.assertRaises(input_pipeline.IncompleteSplitError):
      input_pipeline.build_dataset(shard, identity, batch_size=50,
                                   image_size=32, is_training=False)

  @unittest.skipIf(_HOROVOD, 'Horovod is installed')
  def test_one_line_saying_how_to_install(self):
    proc = util.run_script('train_image_classifier.py', [
        '--distribution=horovod', '--dataset_name=digits',
        '--dataset_dir=%s' % util.digits_dir(),
        '--train_dir=%s' % tempfile.mkdtemp(), '--max_number_of_steps=1'])
    self.assertEqual(proc.returncode, 1, proc.stderr[-3000:])
    lines = proc.stderr.strip().splitlines()
    self.assertEqual(lines[-1], 'train_image_classifier.py: error: ' +
                     hvd.INSTALL_HINT, proc.stderr[-3000:])
    self.assertNotIn('Traceback', proc.stderr)

  def test_bad_distribution_is_one_line(self):
    proc = util.run_script('train_image_classifier.py', [
        '--distribution=mpi', '--dataset_dir=/nonexistent'])
    self.assertEqual(proc.returncode, 2)
    self.assertEqual(proc.stderr.strip().splitlines(), [
        'train_image_classifier.py: error: flag --distribution=mpi: value '
        'should be one of <clones|horovod> (see --helpfull)'])


if __name__ == '__main__':
  tf.test.main()
