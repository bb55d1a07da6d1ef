"""Fault tests: SIGKILL mid-training leaves a loadable checkpoint to resume.

(NaN/Inf divergence is tested in test_train.py.)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tests import test_train_util as util
from train_lib import training

tf.disable_eager_execution()


def _checkpoint_steps(train_dir):
  state = tf.train.get_checkpoint_state(train_dir)
  if state is None:
    return []
  return [int(p.rsplit('-', 1)[1]) for p in state.all_model_checkpoint_paths]


@pytest.mark.long
class SigkillTest(tf.test.TestCase):

  def test_sigkill_then_resume_from_last_save(self):
    train_dir = tempfile.mkdtemp()
    log_path = os.path.join(train_dir, 'stderr.txt')
    args = [sys.executable, os.path.join(util.REPO, 'train_image_classifier.py'),
            '--model_name=%s' % util.SMALL_MODEL, '--dataset_name=digits',
            '--dataset_dir=%s' % util.digits_dir(), '--train_dir=%s' % train_dir,
            '--train_image_size=32', '--batch_size=2', '--num_readers=1',
            '--save_interval_secs=1', '--log_every_n_steps=1',
            '--max_number_of_steps=1000000']
    env = util.script_env()
    with open(log_path, 'w') as log:
      proc = subprocess.Popen(args, cwd=util.REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=log)
    try:
      deadline = time.time() + 240
      # Wait for a checkpoint saved after some training (not the step-0 one).
      while time.time() < deadline and not [s for s in _checkpoint_steps(
          train_dir) if s > 0]:
        self.assertIsNone(proc.poll(), open(log_path).read()[-3000:])
        time.sleep(0.5)
      self.assertTrue([s for s in _checkpoint_steps(train_dir) if s > 0],
                      'no checkpoint after step 0 within the deadline')
      time.sleep(1.0)
      proc.send_signal(signal.SIGKILL)
      proc.wait(timeout=30)
    finally:
      if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=30)
    self.assertEqual(proc.returncode, -signal.SIGKILL)

    # The checkpoint state on disk is loadable: every tensor reads back.
    latest = tf.train.latest_checkpoint(train_dir)
    reader = tf.train.NewCheckpointReader(latest)
    for name in reader.get_variable_to_shape_map():
      self.assertIsNotNone(reader.get_tensor(name))
    saved_step = int(reader.get_tensor('global_step'))
    self.assertEqual(latest, os.path.join(train_dir,
                                          'model.ckpt-%d' % saved_step))
    logged = [int(l.split('step ')[1].split(':')[0])
              for l in open(log_path).read().splitlines()
              if '] step ' in l]
    self.assertGreaterEqual(max(logged), saved_step)

    # Re-running with the same train_dir resumes from the last save.
    result = training.train(training.TrainConfig(
        train_dir=train_dir, dataset_name='digits',
        dataset_dir=util.digits_dir(), model_name=util.SMALL_MODEL,
        train_image_size=32, batch_size=2, num_readers=1,
        max_number_of_steps=saved_step + 2))
    self.assertEqual(result['global_step'], saved_step + 2)
    reader = tf.train.NewCheckpointReader(result['checkpoint'])
    self.assertEqual(reader.get_tensor('global_step'), saved_step + 2)
    self.assertTrue(np.isfinite(result['loss']))


if __name__ == '__main__':
  tf.test.main()
