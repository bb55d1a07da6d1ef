"""CifarNet: the CIFAR-10 network of TensorFlow's CIFAR-10 tutorial [1], as in
TF-Slim. No attention.

Two 5x5 conv + max-pool stages with local response normalization, then fully
connected layers of 384 and 192 units and a linear classifier. Default input:
32 x 32 x 3.

References:
  [1] Krizhevsky, Learning Multiple Layers of Features from Tiny Images,
      2009 (CIFAR-10); architecture of the TensorFlow CIFAR-10 tutorial.

Typical use:

    from nets import cifarnet

    with slim.arg_scope(cifarnet.cifarnet_arg_scope()):
      logits, end_points = cifarnet.cifarnet(images, num_classes=10)
    # images: [batch, 32, 32, 3] -> logits: [batch, 10]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf
import tf_slim as slim


def _trunc_normal(stddev):
  return tf.truncated_normal_initializer(stddev=stddev)


def _lrn(net, name):
  return tf.nn.lrn(net, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75, name=name)


def cifarnet(images, num_classes=10, is_training=False,
             dropout_keep_prob=0.5,
             prediction_fn=slim.softmax,
             scope='CifarNet'):
  """CifarNet classifier.

  Args:
    images: 4-D tensor `[batch, 32, 32, 3]` (other sizes change fc3's input).
    num_classes: number of classes. If 0 or None, the logits layer is omitted
      and the fc4 features `[batch, 192]` are returned.
    is_training: whether dropout runs in training mode.
    dropout_keep_prob: fraction kept by the dropout after fc3.
    prediction_fn: function mapping logits to the 'Predictions' end point.
    scope: variable scope.

  Returns:
    `(logits, end_points)`: logits `[batch, num_classes]` (or the fc4
    features) and an ordered dict of end points.
  """
  end_points = {}
  with tf.variable_scope(scope, 'CifarNet', [images]):
    # 32 x 32 x 3
    net = slim.conv2d(images, 64, [5, 5], scope='conv1')
    end_points['conv1'] = net
    net = slim.max_pool2d(net, [2, 2], 2, scope='pool1')
    end_points['pool1'] = net
    net = _lrn(net, 'norm1')
    # 16 x 16 x 64
    net = slim.conv2d(net, 64, [5, 5], scope='conv2')
    end_points['conv2'] = net
    net = _lrn(net, 'norm2')
    net = slim.max_pool2d(net, [2, 2], 2, scope='pool2')
    end_points['pool2'] = net
    # 8 x 8 x 64
    net = slim.flatten(net)
    end_points['Flatten'] = net
    # 4096
    net = slim.fully_connected(net, 384, scope='fc3')
    end_points['fc3'] = net
    net = slim.dropout(net, dropout_keep_prob, is_training=is_training,
                       scope='dropout3')
    net = slim.fully_connected(net, 192, scope='fc4')
    end_points['fc4'] = net
    if not num_classes:
      return net, end_points
    logits = slim.fully_connected(net, num_classes,
                                  biases_initializer=tf.zeros_initializer(),
                                  weights_initializer=_trunc_normal(1 / 192.0),
                                  weights_regularizer=None,
                                  activation_fn=None,
                                  scope='logits')
    end_points['Logits'] = logits
    end_points['Predictions'] = prediction_fn(logits, scope='Predictions')
  return logits, end_points


cifarnet.default_image_size = 32


def cifarnet_arg_scope(weight_decay=0.004):
  """Returns the CifarNet arg_scope.

  Convs: truncated-normal(0.05) weights, ReLU, no weight decay. Fully
  connected: truncated-normal(0.04) weights, biases 0.1, ReLU, L2 decay.

  Args:
    weight_decay: L2 coefficient for the fully connected weights.

  Returns:
    An arg_scope for `slim.arg_scope(...)`.
  """
  with slim.arg_scope([slim.conv2d],
                      weights_initializer=_trunc_normal(5e-2),
                      activation_fn=tf.nn.relu):
    with slim.arg_scope([slim.fully_connected],
                        biases_initializer=tf.constant_initializer(0.1),
                        weights_initializer=_trunc_normal(0.04),
                        weights_regularizer=slim.l2_regularizer(weight_decay),
                        activation_fn=tf.nn.relu) as sc:
      return sc
