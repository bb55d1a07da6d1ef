"""Saves, or restores and runs, one SE model: the two halves of the test that
checkpoints cross runtimes (`tests/test_cross_runtime.py`).

The test calls `save` and `logits` in its own process (its runtime) and runs
this module with the other runtime's interpreter, from the repository root,
for the other runtime's halves; verbs run in the order given:

    python -m tests.cross_runtime_model save DIR    # DIR/model.ckpt, DIR/logits_saved.npy
    python -m tests.cross_runtime_model logits DIR  # DIR/logits_restored.npy
    python -m tests.cross_runtime_model logits DIR_A save DIR_B

Each half also writes every variable's value (`values_*.npz`).

Both halves build SE-ResNet-50 v1 (r=16, 7 classes) in inference mode on the
same fixed 2x64x64x3 input. `save` gives the weights their seeded initial values and
the batch-norm statistics, scales, offsets and biases seeded random ones, so
batch norm and the SE gates are far from the identity and the logits depend
on every kind of restored value.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os
import sys

import tf_compat  # pylint: disable=unused-import

import numpy as np
import tensorflow.compat.v1 as tf

from nets import nets_factory

MODEL = 'resnet_v1_50'
NUM_CLASSES = 7
SIZE = 64


def _inputs():
  return np.random.RandomState(0).uniform(
      -1, 1, (2, SIZE, SIZE, 3)).astype(np.float32)


def _build():
  network_fn = nets_factory.get_network_fn(
      MODEL, NUM_CLASSES, is_training=False, attention_module='se_block',
      reduction_ratio=16)
  images = tf.placeholder(tf.float32, [None, SIZE, SIZE, 3])
  logits, _ = network_fn(images)
  return images, logits


def save(out_dir):
  with tf.Graph().as_default():
    tf.set_random_seed(1)
    images, logits = _build()
    rng = np.random.RandomState(1)
    feeds = {}
    for v in tf.global_variables():
      shape, name = v.shape.as_list(), v.op.name
      if name.endswith('moving_mean'):
        value = rng.normal(0, 0.1, shape)
      elif name.endswith('moving_variance'):
        value = rng.uniform(0.5, 1.5, shape)
      elif name.endswith('gamma'):
        value = rng.uniform(0.8, 1.2, shape)
      elif name.endswith(('beta', 'biases')):
        value = rng.normal(0, 0.1, shape)
      else:  # weights keep their seeded initializer values
        continue
      placeholder = tf.placeholder(v.dtype.base_dtype, shape)
      feeds[placeholder] = (v, value.astype(v.dtype.as_numpy_dtype))
    # One run assigns them all: a `Variable.load` per variable prepares a new
    # executor each time (seconds for ResNet-50's 300-odd variables).
    assign_all = tf.group(*[v.assign(p) for p, (v, _) in feeds.items()])
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(assign_all, {p: value for p, (_, value) in feeds.items()})
      _write_runtime(out_dir, 'saved')
      np.save(os.path.join(out_dir, 'logits_saved.npy'),
              sess.run(logits, {images: _inputs()}))
      tf.train.Saver().save(sess, os.path.join(out_dir, 'model.ckpt'))
      _save_values(sess, os.path.join(out_dir, 'values_saved.npz'))


def runtime():
  """This process's runtime, e.g. 'TF 1.15.5'."""
  return 'TF %s' % tf.__version__


def _write_runtime(out_dir, half):
  with open(os.path.join(out_dir, 'runtime_%s.txt' % half), 'w') as f:
    f.write(runtime())


def runtime_of(out_dir, half):
  """The runtime that wrote `half` ('saved' or 'restored') of `out_dir`."""
  with open(os.path.join(out_dir, 'runtime_%s.txt' % half)) as f:
    return f.read()


def _save_values(sess, path):
  variables = tf.global_variables()
  np.savez(path, **dict(zip([v.op.name.replace('/', '.') for v in variables],
                            sess.run(variables))))


def logits(out_dir):
  with tf.Graph().as_default():
    images, out = _build()
    with tf.Session() as sess:
      tf.train.Saver().restore(sess, os.path.join(out_dir, 'model.ckpt'))
      _write_runtime(out_dir, 'restored')
      np.save(os.path.join(out_dir, 'logits_restored.npy'),
              sess.run(out, {images: _inputs()}))
      _save_values(sess, os.path.join(out_dir, 'values_restored.npz'))


def main(argv):
  """Runs `verb dir` pairs in order, e.g. `['logits', A, 'save', B]`."""
  verbs = {'save': save, 'logits': logits}
  if not argv or len(argv) % 2 or any(v not in verbs for v in argv[::2]):
    raise SystemExit('usage: python -m tests.cross_runtime_model '
                     '{save|logits} DIR [{save|logits} DIR ...]; got %r' % argv)
  for verb, out_dir in zip(argv[::2], argv[1::2]):
    verbs[verb](out_dir)


if __name__ == '__main__':
  main(sys.argv[1:])
