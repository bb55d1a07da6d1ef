"""Distributed training on TensorFlow's runtime: 1 ps + 2 workers on 127.0.0.1.

Each process is `train_image_classifier.py` with --ps_hosts/--worker_hosts/
--job_name (the server starts in-process). The workers train synchronously
(--sync_replicas, 2 replicas to aggregate); the chief (worker 0) writes the
checkpoints. The test stops every process it started.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import tensorflow.compat.v1 as tf

from tests import test_train_util as util

tf.disable_eager_execution()

# What a worker logs after a step (the chief: so after initializing).
_STEPPED = r'\] step \d+: loss'
_CHIEF_STEPPED = re.compile(_STEPPED)
# What the second worker logs once it shares the cluster's global step.
_WORKER_JOINED = re.compile(_STEPPED + '|Global step 4 already reached')


def _wait_for_log(proc, log_path, pattern, timeout, poll_secs):
  """Waits until `pattern` is in the log, `proc` exits, or `timeout` s."""
  deadline = time.time() + timeout
  while time.time() < deadline and proc.poll() is None:
    with open(log_path) as f:
      if pattern.search(f.read()):
        return
    time.sleep(poll_secs)


def _free_ports(count):
  socks = []
  try:
    for _ in range(count):
      s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
      s.bind(('127.0.0.1', 0))
      socks.append(s)
    return [s.getsockname()[1] for s in socks]
  finally:
    for s in socks:
      s.close()


@pytest.mark.long
class DistributedTest(tf.test.TestCase):

  def test_one_ps_two_sync_workers(self):
    ps_port, w0_port, w1_port = _free_ports(3)
    train_dir = tempfile.mkdtemp()
    common = [
        '--ps_hosts=127.0.0.1:%d' % ps_port,
        '--worker_hosts=127.0.0.1:%d,127.0.0.1:%d' % (w0_port, w1_port),
        '--model_name=%s' % util.SMALL_MODEL, '--dataset_name=digits',
        '--dataset_dir=%s' % util.digits_dir(), '--train_dir=%s' % train_dir,
        '--train_image_size=32', '--batch_size=2', '--num_readers=1',
        '--sync_replicas', '--replicas_to_aggregate=2',
        '--max_number_of_steps=4', '--log_every_n_steps=1',
        '--optimizer=sgd', '--learning_rate_decay_type=fixed']
    env = util.script_env()
    script = os.path.join(util.REPO, 'train_image_classifier.py')
    procs, logs = {}, {}

    def start(job, task):
      name = '%s%d' % (job, task)
      logs[name] = os.path.join(train_dir, name + '.log')
      with open(logs[name], 'w') as log:
        procs[name] = subprocess.Popen(
            [sys.executable, script, '--job_name=%s' % job,
             '--task=%d' % task] + common,
            cwd=util.REPO, env=env, stdout=log, stderr=subprocess.STDOUT)

    try:
      start('ps', 0)
      start('worker', 0)
      # Worker 1 starts once the chief has initialized the variables: a
      # worker that asks before then is told to wait, and TF's session
      # manager asks again only after 30 s.
      _wait_for_log(procs['worker0'], logs['worker0'], _CHIEF_STEPPED, 240,
                    poll_secs=0.5)
      start('worker', 1)
      rc = procs['worker0'].wait(timeout=300)
      chief_log = open(logs['worker0']).read()
      self.assertEqual(rc, 0, chief_log[-3000:])
      # The other worker joins the same cluster and global step. It either
      # took part in the synchronous steps, or found the run finished (a
      # sync step counts gradients, and a fast chief can supply all of
      # them; as this worker starts after the chief's first step, it
      # usually finds the run finished). Once the chief stops it may wait
      # forever for a token the chief no longer sends, so it is killed
      # below rather than awaited.
      _wait_for_log(procs['worker1'], logs['worker1'], _WORKER_JOINED, 120,
                    poll_secs=1)
    finally:
      for proc in procs.values():
        if proc.poll() is None:
          proc.kill()
        proc.wait(timeout=30)

    # Synchronous steps advanced the global step to the limit, and the
    # chief saved it.
    latest = tf.train.latest_checkpoint(train_dir)
    self.assertEqual(latest, os.path.join(train_dir, 'model.ckpt-4'))
    reader = tf.train.NewCheckpointReader(latest)
    self.assertEqual(reader.get_tensor('global_step'), 4)
    worker1_log = open(logs['worker1']).read()
    self.assertTrue(_WORKER_JOINED.search(worker1_log), worker1_log[-3000:])
    # A sync step counts gradients, not workers: whichever worker started
    # first may have run all four steps while the other was still starting,
    # and then finds the run finished. One of them logged step 4.
    self.assertIn('step 4: loss = ', chief_log + worker1_log,
                  chief_log[-1500:] + worker1_log[-1500:])
    self.assertIn('Parameter server 0', open(logs['ps0']).read())


if __name__ == '__main__':
  tf.test.main()
