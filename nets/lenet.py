"""LeNet-style MNIST network [1], as in TF-Slim. No attention.

Two 5x5 conv (32, 64) + 2x2 max-pool stages, a 1024-unit fully connected
layer with dropout and a linear classifier. Default input: 28 x 28 x 1.

References:
  [1] LeCun et al., Gradient-Based Learning Applied to Document Recognition,
      Proc. IEEE 86(11), 1998.

Typical use:

    from nets import lenet

    with slim.arg_scope(lenet.lenet_arg_scope()):
      logits, end_points = lenet.lenet(images, num_classes=10)
    # images: [batch, 28, 28, 1] -> logits: [batch, 10]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf
import tf_slim as slim


def lenet(images, num_classes=10, is_training=False,
          dropout_keep_prob=0.5,
          prediction_fn=slim.softmax,
          scope='LeNet'):
  """LeNet classifier.

  Args:
    images: 4-D tensor `[batch, 28, 28, 1]` (other sizes change fc3's input).
    num_classes: number of classes. If 0 or None, dropout and the logits
      layer are omitted and the fc3 features `[batch, 1024]` are returned.
    is_training: whether dropout runs in training mode.
    dropout_keep_prob: fraction kept by the dropout after fc3.
    prediction_fn: function mapping logits to the 'Predictions' end point.
    scope: variable scope.

  Returns:
    `(logits, end_points)`: logits `[batch, num_classes]` (or the fc3
    features) and an ordered dict of end points.
  """
  end_points = {}
  with tf.variable_scope(scope, 'LeNet', [images]):
    # 28 x 28 x 1
    net = end_points['conv1'] = slim.conv2d(images, 32, [5, 5], scope='conv1')
    net = end_points['pool1'] = slim.max_pool2d(net, [2, 2], 2, scope='pool1')
    # 14 x 14 x 32
    net = end_points['conv2'] = slim.conv2d(net, 64, [5, 5], scope='conv2')
    net = end_points['pool2'] = slim.max_pool2d(net, [2, 2], 2, scope='pool2')
    # 7 x 7 x 64
    net = end_points['Flatten'] = slim.flatten(net)
    net = end_points['fc3'] = slim.fully_connected(net, 1024, scope='fc3')
    if not num_classes:
      return net, end_points
    net = end_points['dropout3'] = slim.dropout(
        net, dropout_keep_prob, is_training=is_training, scope='dropout3')
    logits = end_points['Logits'] = slim.fully_connected(
        net, num_classes, activation_fn=None, scope='fc4')
  end_points['Predictions'] = prediction_fn(logits, scope='Predictions')
  return logits, end_points


lenet.default_image_size = 28


def lenet_arg_scope(weight_decay=0.0):
  """Returns the LeNet arg_scope: ReLU, truncated-normal(0.1) weights, L2.

  Args:
    weight_decay: L2 coefficient for conv and fully connected weights.

  Returns:
    An arg_scope for `slim.arg_scope(...)`.
  """
  with slim.arg_scope(
      [slim.conv2d, slim.fully_connected],
      weights_regularizer=slim.l2_regularizer(weight_decay),
      weights_initializer=tf.truncated_normal_initializer(stddev=0.1),
      activation_fn=tf.nn.relu) as sc:
    return sc
