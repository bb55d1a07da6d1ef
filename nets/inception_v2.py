"""Inception-v2 (BN-Inception) [1], as in TF-Slim. No attention.

The feature extractor is `tf_slim.nets.inception_v2.inception_v2_base`, used
as is (its variables equal TF-Slim's; it starts with a separable 7x7 conv
with biases and no batch norm). The classifier head is ours: `tf_slim.nets`'
`inception_v2` lacks the 'AvgPool_1a' and 'PreLogits' end points of TF-Slim's
research version and its `global_pool` / `num_classes=0` (features only).

References:
  [1] Ioffe and Szegedy, Batch Normalization: Accelerating Deep Network
      Training by Reducing Internal Covariate Shift, arXiv:1502.03167.

Typical use:

    from nets import inception_v2

    with slim.arg_scope(inception_v2.inception_v2_arg_scope()):
      logits, end_points = inception_v2.inception_v2(images, num_classes=1001)
    # images: [batch, 224, 224, 3] -> logits: [batch, 1001]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf
import tf_slim as slim
from tf_slim.nets import inception_v2 as _tf_slim_inception_v2

from nets import inception_utils

inception_v2_base = _tf_slim_inception_v2.inception_v2_base


def _reduced_kernel_size_for_small_input(input_tensor, kernel_size):
  """Shrinks `kernel_size` to the input's spatial size where that is smaller.

  With unknown spatial dimensions the input is assumed large enough.
  """
  shape = input_tensor.get_shape().as_list()
  if shape[1] is None or shape[2] is None:
    return kernel_size
  return [min(shape[1], kernel_size[0]), min(shape[2], kernel_size[1])]


def inception_v2(inputs,
                 num_classes=1000,
                 is_training=True,
                 dropout_keep_prob=0.8,
                 min_depth=16,
                 depth_multiplier=1.0,
                 prediction_fn=slim.softmax,
                 spatial_squeeze=True,
                 reuse=None,
                 scope='InceptionV2',
                 global_pool=False):
  """Inception-v2 classifier [1].

  Args:
    inputs: 4-D tensor `[batch, height, width, 3]`, 224 x 224 by default.
    num_classes: number of classes. If 0 or None, the logits layer is omitted
      and the pooled features `[batch, 1, 1, 1024]` are returned.
    is_training: whether batch norm and dropout run in training mode.
    dropout_keep_prob: fraction of the pooled features kept by dropout.
    min_depth: smallest channel count when `depth_multiplier` < 1.
    depth_multiplier: float multiplier (> 0) of every conv's channel count.
    prediction_fn: function mapping logits to the 'Predictions' end point.
    spatial_squeeze: if True, logits are `[batch, num_classes]`, else
      `[batch, 1, 1, num_classes]`.
    reuse: whether to reuse the network's variables (`scope` must be given).
    scope: variable scope.
    global_pool: if True, pool with a global mean ('global_pool' end point)
      instead of a 7x7 average pool ('AvgPool_1a'), for any input size.

  Returns:
    `(logits, end_points)`: logits (or the pooled features) and an ordered
    dict of end points.

  Raises:
    ValueError: if `depth_multiplier` <= 0.
  """
  if depth_multiplier <= 0:
    raise ValueError('depth_multiplier must be greater than zero, got %r' %
                     (depth_multiplier,))
  with tf.variable_scope(scope, 'InceptionV2', [inputs], reuse=reuse) as scope:
    with slim.arg_scope([slim.batch_norm, slim.dropout],
                        is_training=is_training):
      net, end_points = inception_v2_base(
          inputs, scope=scope, min_depth=min_depth,
          depth_multiplier=depth_multiplier)
      with tf.variable_scope('Logits'):
        # 7 x 7 x 1024
        if global_pool:
          net = tf.reduce_mean(net, [1, 2], keepdims=True, name='global_pool')
          end_points['global_pool'] = net
        else:
          kernel_size = _reduced_kernel_size_for_small_input(net, [7, 7])
          net = slim.avg_pool2d(net, kernel_size, padding='VALID',
                                scope='AvgPool_1a_{}x{}'.format(*kernel_size))
          end_points['AvgPool_1a'] = net
        if not num_classes:
          return net, end_points
        # 1 x 1 x 1024
        net = slim.dropout(net, keep_prob=dropout_keep_prob,
                           scope='Dropout_1b')
        end_points['PreLogits'] = net
        logits = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                             normalizer_fn=None, scope='Conv2d_1c_1x1')
        if spatial_squeeze:
          logits = tf.squeeze(logits, [1, 2], name='SpatialSqueeze')
      end_points['Logits'] = logits
      end_points['Predictions'] = prediction_fn(logits, scope='Predictions')
  return logits, end_points


inception_v2.default_image_size = 224

inception_v2_arg_scope = inception_utils.inception_arg_scope
