"""What AlexNet, OverFeat and VGG share: an arg_scope and the fc6-fc8 head.

All three (as TF-Slim builds them) run their fully connected layers as
convolutions, so a larger input gives a dense map of predictions: fc6 is a
VALID conv as large as the last feature map, fc7 and fc8 are 1x1 convs, with
dropout after fc6 and fc7. The variables and end points are TF-Slim's, so
Slim's checkpoints load unchanged.

Typical use (inside a model's variable scope `sc`):

    net, end_points = conv_fc.classifier_head(
        net, end_points_collection, sc.name, fc6_depth=4096, fc6_kernel=7,
        num_classes=1000, is_training=True, dropout_keep_prob=0.5,
        spatial_squeeze=True, global_pool=False)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf
import tf_slim as slim


def arg_scope(weight_decay, biases_initializer, max_pool_padding=None):
  """Returns the arg_scope of these nets: ReLU, L2 decay, SAME convs.

  Args:
    weight_decay: L2 coefficient for conv and fully connected weights.
    biases_initializer: initializer of conv and fully connected biases.
    max_pool_padding: padding of `slim.max_pool2d`, or None for its default.

  Returns:
    An arg_scope for `slim.arg_scope(...)`.
  """
  pool_kwargs = {'padding': max_pool_padding} if max_pool_padding else {}
  with slim.arg_scope([slim.conv2d, slim.fully_connected],
                      activation_fn=tf.nn.relu,
                      biases_initializer=biases_initializer,
                      weights_regularizer=slim.l2_regularizer(weight_decay)):
    with slim.arg_scope([slim.conv2d], padding='SAME'):
      with slim.arg_scope([slim.max_pool2d], **pool_kwargs) as arg_sc:
        return arg_sc


def classifier_head(net, end_points_collection, scope_name, fc6_depth,
                    fc6_kernel, num_classes, is_training, dropout_keep_prob,
                    spatial_squeeze, global_pool, fc6_padding='VALID'):
  """fc6, dropout6, fc7 [, global_pool] [, dropout7, fc8] as convolutions.

  Args:
    net: the last feature map, `[batch, k, k, C]` at the default size, where
      k = `fc6_kernel`.
    end_points_collection: the collection the model's layers are recorded
      in; it becomes the end points dict.
    scope_name: the model's variable scope name (fc8's end point key).
    fc6_depth: output channels of fc6.
    fc6_kernel: fc6's kernel side.
    num_classes: classes of fc8; 0 or None returns the fc7 features
      (`[batch, 1, 1, 4096]` at the default size) without dropout7 and fc8.
    is_training: whether dropout runs in training mode.
    dropout_keep_prob: fraction kept by dropout6 and dropout7.
    spatial_squeeze: if True, logits are `[batch, num_classes]`, else
      `[batch, 1, 1, num_classes]`.
    global_pool: if True, fc7 is averaged over space ('global_pool').
    fc6_padding: 'VALID' (1 x 1 at the default size) or 'SAME' (dense).

  Returns:
    `(net, end_points)`: logits (or fc7 features) and the ordered end points.
  """
  net = slim.conv2d(net, fc6_depth, [fc6_kernel, fc6_kernel],
                    padding=fc6_padding, scope='fc6')
  net = slim.dropout(net, dropout_keep_prob, is_training=is_training,
                     scope='dropout6')
  net = slim.conv2d(net, 4096, [1, 1], scope='fc7')
  end_points = slim.utils.convert_collection_to_dict(end_points_collection)
  if global_pool:
    net = tf.reduce_mean(net, [1, 2], keepdims=True, name='global_pool')
    end_points['global_pool'] = net
  if num_classes:
    net = slim.dropout(net, dropout_keep_prob, is_training=is_training,
                       scope='dropout7')
    # Zero biases whatever the arg_scope says: Slim's fc8 is initialized so.
    net = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                      normalizer_fn=None,
                      biases_initializer=tf.zeros_initializer(), scope='fc8')
    if spatial_squeeze:
      net = tf.squeeze(net, [1, 2], name='fc8/squeezed')
    end_points[scope_name + '/fc8'] = net
  return net, end_points
