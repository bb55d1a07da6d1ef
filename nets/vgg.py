"""VGG-11 (A), VGG-16 (D) and VGG-19 (E) [1], as in TF-Slim. No attention.

The fully connected layers are convolutions (fc6 a 7x7 VALID conv, fc7 and
fc8 1x1 convs), so the nets also run densely on larger inputs. The three
depths share one builder driven by `_CONVS_PER_STAGE`; `vgg_a`, `vgg_16` and
`vgg_19` are thin wrappers with TF-Slim's names, signatures and scopes, so
Slim's VGG checkpoints (1000 classes, converted from Caffe) load unchanged.
`tf_slim.nets.vgg` builds the same variables but lacks TF-Slim's `reuse`,
`fc_conv_padding`, `global_pool` and `num_classes=0` (features only).

References:
  [1] Simonyan and Zisserman, Very Deep Convolutional Networks for
      Large-Scale Image Recognition, arXiv:1409.1556.

Typical use:

    from nets import vgg

    with slim.arg_scope(vgg.vgg_arg_scope()):
      logits, end_points = vgg.vgg_16(images, num_classes=1000)
    # images: [batch, 224, 224, 3] -> logits: [batch, 1000]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import conv_fc

# 3x3 convs in each of the five stages (64, 128, 256, 512, 512 channels),
# [1] Table 1, columns A, D and E.
_CONVS_PER_STAGE = {
    'vgg_a': (1, 1, 2, 2, 2),
    'vgg_16': (2, 2, 3, 3, 3),
    'vgg_19': (2, 2, 4, 4, 4),
}
_STAGE_DEPTHS = (64, 128, 256, 512, 512)


def vgg_arg_scope(weight_decay=0.0005):
  """Returns the VGG arg_scope (`conv_fc.arg_scope`, zero biases).

  ReLU, L2 weight decay and SAME convs; max pools keep their default.
  """
  return conv_fc.arg_scope(weight_decay, tf.zeros_initializer())


def _vgg(inputs, name, num_classes, is_training, dropout_keep_prob,
         spatial_squeeze, reuse, scope, fc_conv_padding, global_pool):
  """Builds the VGG variant `name` (a key of `_CONVS_PER_STAGE`).

  Args and returns as `vgg_16`; `name` is also the default scope.
  """
  convs_per_stage = _CONVS_PER_STAGE[name]
  with tf.variable_scope(scope, name, [inputs], reuse=reuse) as sc:
    end_points_collection = sc.original_name_scope + '_end_points'
    with slim.arg_scope([slim.conv2d, slim.fully_connected, slim.max_pool2d],
                        outputs_collections=end_points_collection):
      net = inputs
      # 224 x 224 x 3 -> (each stage halves the side) -> 7 x 7 x 512
      for stage, (num_convs, depth) in enumerate(
          zip(convs_per_stage, _STAGE_DEPTHS), 1):
        net = slim.repeat(net, num_convs, slim.conv2d, depth, [3, 3],
                          scope='conv%d' % stage)
        net = slim.max_pool2d(net, [2, 2], scope='pool%d' % stage)
      # Fully connected layers as convs: 7 x 7 x 512 -> 1 x 1 x 4096
      return conv_fc.classifier_head(
          net, end_points_collection, sc.name, fc6_depth=4096, fc6_kernel=7,
          num_classes=num_classes, is_training=is_training,
          dropout_keep_prob=dropout_keep_prob,
          spatial_squeeze=spatial_squeeze, global_pool=global_pool,
          fc6_padding=fc_conv_padding)


def _make_vgg(name):
  """Returns the public builder of the VGG variant `name` (see `vgg_16`)."""

  def builder(inputs,
              num_classes=1000,
              is_training=True,
              dropout_keep_prob=0.5,
              spatial_squeeze=True,
              reuse=None,
              scope=name,
              fc_conv_padding='VALID',
              global_pool=False):
    return _vgg(inputs, name, num_classes=num_classes,
                is_training=is_training, dropout_keep_prob=dropout_keep_prob,
                spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope,
                fc_conv_padding=fc_conv_padding, global_pool=global_pool)

  builder.__name__ = name
  builder.__doc__ = """%s: VGG with %s 3x3 convs per stage [1].

  Args:
    inputs: 4-D tensor `[batch, height, width, 3]`, 224 x 224 by default.
    num_classes: number of classes. If 0 or None, fc8 and dropout7 are
      omitted and the fc7 features (`[batch, 1, 1, 4096]` at 224) are
      returned.
    is_training: whether dropout runs in training mode.
    dropout_keep_prob: fraction kept by the dropout after fc6 and fc7.
    spatial_squeeze: if True, logits are `[batch, num_classes]`, else
      `[batch, 1, 1, num_classes]` (must be False for inputs larger than the
      default without `global_pool`).
    reuse: whether to reuse the network's variables.
    scope: variable scope.
    fc_conv_padding: padding of the fc6 conv: 'VALID' (a 1 x 1 output at
      224) or 'SAME' (a dense 7 x 7 output).
    global_pool: if True, average fc7 over space ('global_pool' end point).

  Returns:
    `(net, end_points)`: logits (or fc7 features) and an ordered dict of
    every layer's output keyed `<scope>/<layer>`.
  """ % (name, '-'.join(str(n) for n in _CONVS_PER_STAGE[name]))
  builder.default_image_size = 224
  return builder


vgg_a = _make_vgg('vgg_a')
vgg_16 = _make_vgg('vgg_16')
vgg_19 = _make_vgg('vgg_19')

# The configuration letters of [1].
vgg_d = vgg_16
vgg_e = vgg_19
