"""Prints the README's model table from the registry (Markdown).

For every model in `nets_factory.names()`: default image size, preprocessing,
trainable parameters as published (1001 classes, training mode, so aux heads
are included as in Slim's checkpoints) and, for models that take SE, with
`se_block` at the given reduction ratio; then the multiply-adds of one image
at the default size in inference mode (the SE paper's "GFLOPs"; `tf.profiler`
counts a multiply-add as 2 FLOPs, see `bench/se_overhead.count_flops`).

    .venv/bin/python tools/model_table.py [--reduction_ratio=16] | grep '^|'

(tf.profiler prints "Parsing Inputs..." lines of its own; grep drops them.)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# pylint: disable=g-import-not-at-top
import tf_compat  # before TensorFlow: quiets it and, on TF 2, makes it TF 1
import tensorflow.compat.v1 as tf
from bench import se_overhead
from nets import nets_factory
# pylint: enable=g-import-not-at-top

flags.DEFINE_integer('reduction_ratio', 16, 'SE reduction ratio r.')
flags.DEFINE_integer('num_classes', 1001, 'Classes of the logits layer.')
flags.DEFINE_list('models', None, 'Models to list (default: every registered '
                  'model). The released SENets have 1000 classes: list them '
                  'with --num_classes=1000.')


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


def _mult_adds(name, num_classes, attention_module, reduction_ratio):
  spec = nets_factory.get_model_spec(name)
  flops, incomplete = se_overhead.inference_flops(
      name, attention_module, spec.default_image_size, num_classes,
      reduction_ratio, channels=1 if name == 'lenet' else 3)
  if incomplete:
    raise RuntimeError('%s: %d ops without full shapes' % (name, incomplete))
  return flops / 2.0


def _giga(x):
  return '%.3g' % (x / 1e9) if x < 1e10 else '%.1f' % (x / 1e9)


def main(_):
  flags_ = flags.FLAGS
  r = flags_.reduction_ratio
  print('| model | size | preprocessing | params | params with SE (r=%d) | '
        'SE adds | G mult-adds | with SE |' % r)
  print('|---|---:|---|---:|---:|---:|---:|---:|')
  names = flags_.models or nets_factory.names()
  unknown = [n for n in names if n not in nets_factory.names()]
  if unknown:
    raise app.UsageError('unknown model %r; expected one of: %s' % (
        unknown[0], ', '.join(nets_factory.names())))
  for name in names:
    spec = nets_factory.get_model_spec(name)
    plain = _params(name, flags_.num_classes, None, r)
    plain_ops = _mult_adds(name, flags_.num_classes, None, r)
    se, se_adds, se_ops = '—', '—', '—'
    if spec.attention:  # Published with its module: the counts include it.
      se = se_adds = se_ops = '(built in)'
    elif spec.supports_attention:
      with_se = _params(name, flags_.num_classes, 'se_block', r)
      se, se_adds = '{:,}'.format(with_se), '+{:,}'.format(with_se - plain)
      se_ops = _giga(_mult_adds(name, flags_.num_classes, 'se_block', r))
    print('| %s | %d | %s | %s | %s | %s | %s | %s |' % (
        name, spec.default_image_size, spec.preprocessing,
        '{:,}'.format(plain), se, se_adds, _giga(plain_ops), se_ops))
    sys.stdout.flush()


if __name__ == '__main__':
  app.run(main)
