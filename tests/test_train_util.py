"""Helpers shared by the train/eval/export/distributed/CLI tests (no tests).

The tests run on the offline 'digits' dataset (converted once per test
process into a temporary directory) with small models at 32x32:
SE-ResNet-50 v1 with `depth_multiplier=0.125` where SE matters, and
MobileNet v1 0.25 where it does not (CLI runs, faults, distributed).
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from datasets import digits
from nets import nets_factory

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# SE-ResNet-50 shrunk for tests: bottleneck widths 8/16/32/64.
SE_MODEL = dict(model_name='resnet_v1_50', attention_module='se_block')
SMALL_RESNET = {'depth_multiplier': 0.125}
SMALL_MODEL = 'mobilenet_v1_025'
IMAGE_SIZE = 32
NUM_CLASSES = 10


def digits_dir():
  """Directory of the converted digits records (converted once per process)."""
  path = os.path.join(tempfile.gettempdir(),
                      'se_slim_test_digits_%d' % os.getpid())
  if not os.path.exists(os.path.join(path, 'metadata.json')):
    digits.run(path)
  return path


def digits_labels(split='validation'):
  """Labels of a digits split in file order (what evaluation reads)."""
  from datasets import dataset_factory  # pylint: disable=g-import-not-at-top
  files = dataset_factory.get_dataset('digits', split, digits_dir()).files
  labels = []
  for f in files:
    for record in tf.io.tf_record_iterator(f):
      example = tf.train.Example.FromString(record)
      labels.append(example.features.feature['image/class/label']
                    .int64_list.value[0])
  return np.array(labels)


def digits_png_bytes(split='validation', count=3):
  """The first `count` encoded images of a digits split."""
  from datasets import dataset_factory  # pylint: disable=g-import-not-at-top
  files = dataset_factory.get_dataset('digits', split, digits_dir()).files
  out = []
  for record in tf.io.tf_record_iterator(files[0]):
    example = tf.train.Example.FromString(record)
    out.append(example.features.feature['image/encoded'].bytes_list.value[0])
    if len(out) == count:
      break
  return out


def write_model_checkpoint(path, model_name, step=0, attention_module=None,
                           network_kwargs=None, logits_biases=None,
                           num_classes=NUM_CLASSES, ema_logits_biases=None,
                           seed=0):
  """Builds `model_name` (inference mode), saves its variables to `path`.

  Args:
    path: checkpoint prefix, e.g. '<dir>/model.ckpt-5'.
    model_name: a registered model.
    step: value of the saved global step.
    attention_module: None or 'se_block'.
    network_kwargs: extra builder kwargs.
    logits_biases: optional values for the logits layer's biases.
    num_classes: classes of the logits.
    ema_logits_biases: if set, also save moving-average shadow variables
      (decay name 'ExponentialMovingAverage') equal to the variables, except
      for the logits biases, set to these values.
    seed: graph-level random seed of the initializers.

  Returns:
    Dict of the saved variables' values by name.
  """
  with tf.Graph().as_default():
    tf.set_random_seed(seed)
    global_step = tf.train.get_or_create_global_step()
    network_fn = nets_factory.get_network_fn(
        model_name, num_classes, is_training=False,
        attention_module=attention_module)
    images = tf.zeros([1, IMAGE_SIZE, IMAGE_SIZE, 3])
    network_fn(images, **(network_kwargs or {}))
    model_vars = slim.get_model_variables()
    bias_var = [v for v in model_vars if _is_logits_bias(v.op.name)]
    assigns = [tf.assign(global_step, step)]
    if logits_biases is not None:
      assigns.append(tf.assign(bias_var[0], logits_biases))
    if ema_logits_biases is not None:
      ema = tf.train.ExponentialMovingAverage(0.99, global_step)
      ema.apply(model_vars)
      shadow = ema.average(bias_var[0])
      with tf.control_dependencies(assigns):
        assigns.append(tf.assign(shadow, ema_logits_biases))
    saver = tf.train.Saver()
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      for op in assigns:
        sess.run(op)
      tf.gfile.MakeDirs(os.path.dirname(path))
      saver.save(sess, path)
      return sess.run({v.op.name: v for v in tf.global_variables()})


def _is_logits_bias(name):
  return name.endswith('biases') and ('logits' in name.lower() or
                                      'Logits' in name)


def script_env(extra=None):
  """The environment the tests start the repository's scripts with."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', PYTHONPATH=REPO)
  env.update(extra or {})
  return env


def run_script(script, args, timeout=240, env=None, fresh=False):
  """Runs `python <script> args` in the repo; returns CompletedProcess.

  The script runs in a new process forked from `tests/script_server.py`,
  which has already imported TensorFlow and the repository (see there),
  unless `fresh` is set or `env` changes the environment: then in a fresh
  interpreter, as a user starts it. Either way a run past `timeout` seconds
  is killed and raises `subprocess.TimeoutExpired`.
  """
  if env or fresh:
    return subprocess.run([sys.executable, os.path.join(REPO, script)] + args,
                          cwd=REPO, env=script_env(env), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=timeout)
  return _ScriptServer.get().run(script, args, timeout)


class _ScriptServer(object):
  """This test process's `tests/script_server.py`, started on first use."""

  _instance = None
  _lock = threading.Lock()

  @classmethod
  def get(cls):
    with cls._lock:
      if cls._instance is None or cls._instance.proc.poll() is not None:
        cls._instance = cls()
      return cls._instance

  def __init__(self):
    self.proc = subprocess.Popen(
        [sys.executable, os.path.join(REPO, 'tests', 'script_server.py')],
        cwd=REPO, env=script_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        universal_newlines=True)
    ready = self.proc.stdout.readline()
    if ready != 'ready\n':
      raise RuntimeError('tests/script_server.py did not start: %r' % ready)
    self.run_lock = threading.Lock()
    atexit.register(self.proc.stdin.close)

  def run(self, script, args, timeout):
    with self.run_lock:
      out_dir = tempfile.mkdtemp(prefix='se_slim_script_')
      try:
        out, err = (os.path.join(out_dir, n) for n in ('stdout', 'stderr'))
        self.proc.stdin.write(json.dumps({
            'script': script, 'args': list(args), 'cwd': REPO,
            'stdout': out, 'stderr': err, 'timeout': timeout}) + '\n')
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
          raise RuntimeError('tests/script_server.py ended (exit %s)' %
                             self.proc.wait())
        reply = json.loads(reply)
        texts = []
        for path in (out, err):
          with open(path, errors='replace') as f:
            texts.append(f.read())
      finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    command = [sys.executable, script] + list(args)
    if reply['timed_out']:
      raise subprocess.TimeoutExpired(command, timeout, texts[0], texts[1])
    return subprocess.CompletedProcess(command, reply['returncode'],
                                       texts[0], texts[1])


def event_tags(logdir):
  """Set of summary tags in the event files of `logdir`."""
  tags = set()
  for name in tf.gfile.ListDirectory(logdir):
    if not name.startswith('events.'):
      continue
    for event in tf.train.summary_iterator(os.path.join(logdir, name)):
      for value in event.summary.value:
        tags.add(value.tag)
  return tags


def event_scalars(logdir):
  """{tag: [(step, value)]} of the scalar summaries in `logdir`."""
  out = {}
  for name in tf.gfile.ListDirectory(logdir):
    if not name.startswith('events.'):
      continue
    for event in tf.train.summary_iterator(os.path.join(logdir, name)):
      for value in event.summary.value:
        if value.HasField('simple_value'):
          out.setdefault(value.tag, []).append((event.step,
                                                value.simple_value))
  return out
