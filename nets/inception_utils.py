"""The arg_scope shared by Inception v1-v4 (TF-Slim's `inception_arg_scope`).

Every convolution gets an L2 weight regularizer, variance-scaling initializer,
ReLU and batch norm without `gamma` (`scale=False`), which is why Slim's
Inception checkpoints hold `BatchNorm/{beta,moving_mean,moving_variance}`
only. Fully connected layers get the regularizer alone.

References:
  [1] Szegedy et al., Going Deeper with Convolutions, arXiv:1409.4842.
  [2] Szegedy et al., Inception-v4, Inception-ResNet and the Impact of
      Residual Connections on Learning, arXiv:1602.07261.

Typical use:

    from nets import inception_utils, inception_v4

    with slim.arg_scope(inception_utils.inception_arg_scope(weight_decay=4e-5)):
      logits, end_points = inception_v4.inception_v4(images, num_classes=1001)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf
import tf_slim as slim


def inception_arg_scope(weight_decay=0.00004,
                        use_batch_norm=True,
                        batch_norm_decay=0.9997,
                        batch_norm_epsilon=0.001,
                        activation_fn=tf.nn.relu,
                        batch_norm_updates_collections=tf.GraphKeys.UPDATE_OPS,
                        batch_norm_scale=False):
  """Returns the default arg_scope of the Inception models.

  Args:
    weight_decay: L2 coefficient for conv and fully connected weights.
    use_batch_norm: if True, batch norm follows every convolution.
    batch_norm_decay: decay of the batch norm moving averages.
    batch_norm_epsilon: added to the variance to avoid dividing by zero.
    activation_fn: activation of the convolutions.
    batch_norm_updates_collections: collection of the moving-average updates.
    batch_norm_scale: if True, batch norm learns a `gamma`; Slim's published
      checkpoints were trained without it.

  Returns:
    An arg_scope for `slim.arg_scope(...)`.
  """
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'updates_collections': batch_norm_updates_collections,
      'fused': None,  # fused kernel where the shapes allow it
      'scale': batch_norm_scale,
  }
  normalizer_fn = slim.batch_norm if use_batch_norm else None
  normalizer_params = batch_norm_params if use_batch_norm else {}
  with slim.arg_scope([slim.conv2d, slim.fully_connected],
                      weights_regularizer=slim.l2_regularizer(weight_decay)):
    with slim.arg_scope(
        [slim.conv2d],
        weights_initializer=slim.variance_scaling_initializer(),
        activation_fn=activation_fn,
        normalizer_fn=normalizer_fn,
        normalizer_params=normalizer_params) as sc:
      return sc
