"""OverFeat [1] as TF-Slim defines it (close to the paper's "fast" model, with
64 first-layer filters). No attention.

The fully connected layers are convs (fc6 a 6x6 VALID conv, fc7 and fc8 1x1
convs). `tf_slim.nets.overfeat` builds the same variables but lacks TF-Slim's
`reuse`, `global_pool` and `num_classes=0` (features only), so this module
builds the net itself. Default input: 231 x 231.

References:
  [1] Sermanet et al., OverFeat: Integrated Recognition, Localization and
      Detection using Convolutional Networks, arXiv:1312.6229.

Typical use:

    from nets import overfeat

    with slim.arg_scope(overfeat.overfeat_arg_scope()):
      logits, end_points = overfeat.overfeat(images, num_classes=1000)
    # images: [batch, 231, 231, 3] -> logits: [batch, 1000]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import conv_fc


def _trunc_normal(stddev):
  return tf.truncated_normal_initializer(0.0, stddev)


trunc_normal = _trunc_normal  # TF-Slim's public name of the same helper.


def overfeat_arg_scope(weight_decay=0.0005):
  """Returns the OverFeat arg_scope (`conv_fc.arg_scope`, zero biases).

  ReLU, L2 weight decay, SAME convs and VALID max pools.
  """
  return conv_fc.arg_scope(weight_decay, tf.zeros_initializer(),
                           max_pool_padding='VALID')


def overfeat(inputs,
             num_classes=1000,
             is_training=True,
             dropout_keep_prob=0.5,
             spatial_squeeze=True,
             reuse=None,
             scope='overfeat',
             global_pool=False):
  """OverFeat classifier [1].

  Args:
    inputs: 4-D tensor `[batch, height, width, 3]`, 231 x 231 by default.
    num_classes: number of classes. If 0 or None, fc8 and dropout7 are
      omitted and the fc7 features (`[batch, 1, 1, 4096]` at 231) are
      returned.
    is_training: whether dropout runs in training mode.
    dropout_keep_prob: fraction kept by the dropout after fc6 and fc7.
    spatial_squeeze: if True, logits are `[batch, num_classes]`, else
      `[batch, 1, 1, num_classes]`.
    reuse: whether to reuse the network's variables.
    scope: variable scope.
    global_pool: if True, average fc7 over space ('global_pool' end point).

  Returns:
    `(net, end_points)`: logits (or fc7 features) and an ordered dict of
    every layer's output keyed `<scope>/<layer>`.
  """
  with tf.variable_scope(scope, 'overfeat', [inputs], reuse=reuse) as sc:
    end_points_collection = sc.original_name_scope + '_end_points'
    with slim.arg_scope([slim.conv2d, slim.fully_connected, slim.max_pool2d],
                        outputs_collections=end_points_collection):
      # 231 x 231 x 3
      net = slim.conv2d(inputs, 64, [11, 11], 4, padding='VALID',
                        scope='conv1')
      # 56 x 56 x 64
      net = slim.max_pool2d(net, [2, 2], scope='pool1')
      net = slim.conv2d(net, 256, [5, 5], padding='VALID', scope='conv2')
      # 24 x 24 x 256
      net = slim.max_pool2d(net, [2, 2], scope='pool2')
      net = slim.conv2d(net, 512, [3, 3], scope='conv3')
      net = slim.conv2d(net, 1024, [3, 3], scope='conv4')
      net = slim.conv2d(net, 1024, [3, 3], scope='conv5')
      # 12 x 12 x 1024
      net = slim.max_pool2d(net, [2, 2], scope='pool5')
      # 6 x 6 x 1024: fully connected layers as convs
      with slim.arg_scope([slim.conv2d],
                          weights_initializer=_trunc_normal(0.005),
                          biases_initializer=tf.constant_initializer(0.1)):
        return conv_fc.classifier_head(
            net, end_points_collection, sc.name, fc6_depth=3072, fc6_kernel=6,
            num_classes=num_classes, is_training=is_training,
            dropout_keep_prob=dropout_keep_prob,
            spatial_squeeze=spatial_squeeze, global_pool=global_pool)


overfeat.default_image_size = 231
