r"""What the split-into-groups fallback of SE-ResNeXt's grouped conv costs.

TF 1.15's CPU `Conv2D` refuses grouped filters, so there
`tf_compat.grouped_conv2d` runs 32 convolutions on input and filter slices
and concatenates them. This times inference of `se_resnext50_32x4d` (and
`se_resnet50`, which has no grouped conv, for scale) with the op the runtime
picks and, where the runtime has a grouped kernel (TF 2.x), with the split
forced, so both are measured in one process on the same machine. It prints
one line per (model, op): best-of-rounds milliseconds per batch.

    TF_CPP_MIN_LOG_LEVEL=2 .venv-tf2/bin/python bench/grouped_conv.py
    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python bench/grouped_conv.py

Flags: --batch_size (8), --image_size (224), --rounds (5), --threads (0:
TF's default).
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import functools
import os
import sys
import time

from absl import app
from absl import flags
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# pylint: disable=g-import-not-at-top
import tf_compat
import tensorflow.compat.v1 as tf

from nets import nets_factory
# pylint: enable=g-import-not-at-top

flags.DEFINE_integer('batch_size', 8, 'Images per batch.')
flags.DEFINE_integer('image_size', 224, 'Input side.')
flags.DEFINE_integer('rounds', 5, 'Timed runs; the best is reported.')
flags.DEFINE_integer('threads', 0, 'intra/inter-op threads (0: default).')


def time_model(name, split, batch_size, image_size, rounds, threads):
  """Best-of-`rounds` seconds of one inference batch of `name`."""
  original = tf_compat.grouped_conv2d
  if split is not None:
    tf_compat.grouped_conv2d = functools.partial(original, split=split)
  try:
    with tf.Graph().as_default():
      images = tf.constant(np.random.RandomState(0).normal(
          size=(batch_size, image_size, image_size, 3)).astype(np.float32))
      logits, _ = nets_factory.get_network_fn(name, 1000)(images)
      config = tf.ConfigProto(intra_op_parallelism_threads=threads,
                              inter_op_parallelism_threads=threads)
      with tf.Session(config=config) as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(logits)  # warm-up
        best = float('inf')
        for _ in range(rounds):
          start = time.time()
          sess.run(logits)
          best = min(best, time.time() - start)
  finally:
    tf_compat.grouped_conv2d = original
  return best


def main(_):
  tf.logging.set_verbosity(tf.logging.WARN)  # keep the result lines alone
  f = flags.FLAGS
  cases = [('se_resnet50', None), ('se_resnext50_32x4d', None)]
  if tf_compat.grouped_conv_supported_on_cpu():
    cases.append(('se_resnext50_32x4d', True))
  for name, split in cases:
    seconds = time_model(name, split, f.batch_size, f.image_size, f.rounds,
                         f.threads)
    op = {None: 'runtime default', True: 'split forced'}[split]
    print('%s | %s | %s | batch %d at %d | %.1f ms' % (
        tf_compat.RUNTIME, name, op, f.batch_size, f.image_size,
        seconds * 1e3), flush=True)


if __name__ == '__main__':
  app.run(main)
