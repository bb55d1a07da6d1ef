"""Prints the README's model table from the registry (Markdown).

For every model in `nets_factory.names()`: default image size, preprocessing,
trainable parameters as published (1001 classes, training mode, so aux heads
are included as in Slim's checkpoints) and, for models that take SE, with
`se_block` at the given reduction ratio.

    .venv/bin/python tools/model_table.py [--reduction_ratio=16]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os
import sys

from absl import app
from absl import flags
import tensorflow.compat.v1 as tf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from nets import nets_factory  # pylint: disable=g-import-not-at-top

flags.DEFINE_integer('reduction_ratio', 16, 'SE reduction ratio r.')
flags.DEFINE_integer('num_classes', 1001, 'Classes of the logits layer.')


def _params(name, num_classes, attention_module, reduction_ratio):
  spec = nets_factory.get_model_spec(name)
  size = spec.default_image_size
  channels = 1 if name == 'lenet' else 3
  with tf.Graph().as_default():
    tf.train.get_or_create_global_step()
    network_fn = nets_factory.get_network_fn(
        name, num_classes, is_training=True,
        attention_module=attention_module, reduction_ratio=reduction_ratio)
    network_fn(tf.placeholder(tf.float32, [1, size, size, channels]))
    return sum(v.shape.num_elements() for v in tf.trainable_variables())


def main(_):
  flags_ = flags.FLAGS
  print('| model | size | preprocessing | params | params with SE '
        '(r=%d) |' % flags_.reduction_ratio)
  print('|---|---|---|---|---|')
  for name in nets_factory.names():
    spec = nets_factory.get_model_spec(name)
    plain = _params(name, flags_.num_classes, None, flags_.reduction_ratio)
    se = ('{:,}'.format(_params(name, flags_.num_classes, 'se_block',
                                flags_.reduction_ratio))
          if spec.supports_attention else '—')
    print('| %s | %d | %s | {:,} | %s |'.format(plain) %
          (name, spec.default_image_size, spec.preprocessing, se))


if __name__ == '__main__':
  app.run(main)
