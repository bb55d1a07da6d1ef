"""Inception-v1 (GoogLeNet) [1] with batch norm, as in TF-Slim. No attention.

The feature extractor is `tf_slim.nets.inception_v1.inception_v1_base`, used
as is (its variables equal TF-Slim's). The classifier head is ours:
`tf_slim.nets`' `inception_v1` lacks two things of TF-Slim's research
version that its published checkpoint and users rely on, the
'AvgPool_0a_7x7' end point and `global_pool` / `num_classes=0` (features
only).

References:
  [1] Szegedy et al., Going Deeper with Convolutions, arXiv:1409.4842.

Typical use:

    from nets import inception_v1

    with slim.arg_scope(inception_v1.inception_v1_arg_scope()):
      logits, end_points = inception_v1.inception_v1(images, num_classes=1001)
    # images: [batch, 224, 224, 3] -> logits: [batch, 1001]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf
import tf_slim as slim
from tf_slim.nets import inception_v1 as _tf_slim_inception_v1

from nets import inception_utils

inception_v1_base = _tf_slim_inception_v1.inception_v1_base


def inception_v1(inputs,
                 num_classes=1000,
                 is_training=True,
                 dropout_keep_prob=0.8,
                 prediction_fn=slim.softmax,
                 spatial_squeeze=True,
                 reuse=None,
                 scope='InceptionV1',
                 global_pool=False):
  """Inception-v1 classifier [1].

  Args:
    inputs: 4-D tensor `[batch, height, width, 3]`, 224 x 224 by default.
    num_classes: number of classes. If 0 or None, the logits layer is omitted
      and the pooled features `[batch, 1, 1, 1024]` are returned.
    is_training: whether batch norm and dropout run in training mode.
    dropout_keep_prob: fraction of the pooled features kept by dropout.
    prediction_fn: function mapping logits to the 'Predictions' end point.
    spatial_squeeze: if True, logits are `[batch, num_classes]`, else
      `[batch, 1, 1, num_classes]`.
    reuse: whether to reuse the network's variables (`scope` must be given).
    scope: variable scope.
    global_pool: if True, pool with a global mean ('global_pool' end point)
      instead of a 7x7 average pool ('AvgPool_0a_7x7'), for any input size.

  Returns:
    `(logits, end_points)`: logits (or the pooled features) and an ordered
    dict of end points.
  """
  with tf.variable_scope(scope, 'InceptionV1', [inputs], reuse=reuse) as scope:
    with slim.arg_scope([slim.batch_norm, slim.dropout],
                        is_training=is_training):
      net, end_points = inception_v1_base(inputs, scope=scope)
      with tf.variable_scope('Logits'):
        # 7 x 7 x 1024
        if global_pool:
          net = tf.reduce_mean(net, [1, 2], keepdims=True, name='global_pool')
          end_points['global_pool'] = net
        else:
          net = slim.avg_pool2d(net, [7, 7], stride=1, scope='AvgPool_0a_7x7')
          end_points['AvgPool_0a_7x7'] = net
        if not num_classes:
          return net, end_points
        # 1 x 1 x 1024
        net = slim.dropout(net, dropout_keep_prob, scope='Dropout_0b')
        logits = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                             normalizer_fn=None, scope='Conv2d_0c_1x1')
        if spatial_squeeze:
          logits = tf.squeeze(logits, [1, 2], name='SpatialSqueeze')
        end_points['Logits'] = logits
        end_points['Predictions'] = prediction_fn(logits, scope='Predictions')
  return logits, end_points


inception_v1.default_image_size = 224

inception_v1_arg_scope = inception_utils.inception_arg_scope
