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
from nets import pooled_logits

inception_v2_base = _tf_slim_inception_v2.inception_v2_base


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
      # 7 x 7 x 1024 at 224 x 224
      return pooled_logits.classifier(
          net, end_points, num_classes, pool_kernel=[7, 7],
          dropout_keep_prob=dropout_keep_prob, prediction_fn=prediction_fn,
          spatial_squeeze=spatial_squeeze, global_pool=global_pool)


inception_v2.default_image_size = 224

inception_v2_arg_scope = inception_utils.inception_arg_scope
