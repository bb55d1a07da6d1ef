"""The pooled 1x1-conv classifier of Inception v2/v3 and MobileNet v1.

Average pool over the last feature map (or a global mean), dropout, a 1x1
conv to the classes, squeeze, softmax: TF-Slim builds it under the scope
'Logits' with the same names in all three models, so one function serves
them and Slim's checkpoints still load.

Typical use (at the end of a model's variable scope):

    return pooled_logits.classifier(
        net, end_points, num_classes=1001, pool_kernel=[7, 7],
        dropout_keep_prob=0.8, prediction_fn=slim.softmax,
        spatial_squeeze=True, global_pool=False)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf
import tf_slim as slim


def reduced_kernel_size(input_tensor, kernel_size):
  """Shrinks `kernel_size` to the input's static H and W where they are smaller.

  Lets a model built for 224 or 299 inputs run on smaller ones (the pool then
  covers the whole map).

  Args:
    input_tensor: `[batch, height, width, channels]`.
    kernel_size: desired `(kh, kw)`.

  Returns:
    `[min(height, kh), min(width, kw)]`, or `kernel_size` as a list if H or W
    is unknown (the input is then assumed large enough).
  """
  shape = input_tensor.get_shape().as_list()
  if shape[1] is None or shape[2] is None:
    return list(kernel_size)
  return [min(shape[1], kernel_size[0]), min(shape[2], kernel_size[1])]


def classifier(net, end_points, num_classes, pool_kernel, dropout_keep_prob,
               prediction_fn, spatial_squeeze, global_pool,
               avg_pool_scope='AvgPool_1a_{}x{}', global_pool_name='global_pool',
               pre_logits=True):
  """Pool, dropout and a 1x1 conv to `num_classes`, under scope 'Logits'.

  Args:
    net: the last feature map, `[batch, H, W, C]`.
    end_points: the model's end points; 'AvgPool_1a' (or 'global_pool'),
      'PreLogits' (if `pre_logits`), 'Logits' and 'Predictions' are added.
    num_classes: classes; 0 or None returns the pooled features
      `[batch, 1, 1, C]` instead of logits.
    pool_kernel: the average pool's kernel at the default input size; it
      shrinks to fit smaller maps.
    dropout_keep_prob: fraction kept by the dropout before the logits.
    prediction_fn: turns logits into 'Predictions', or None for no such end
      point.
    spatial_squeeze: if True, logits are `[batch, num_classes]`, else
      `[batch, 1, 1, num_classes]`.
    global_pool: if True, a spatial mean replaces the average pool.
    avg_pool_scope: the pool's scope; '{}' fields receive the kernel size.
    global_pool_name: the name of the spatial-mean op.
    pre_logits: whether the dropout output is the end point 'PreLogits'.

  Returns:
    `(logits or pooled features, end_points)`.
  """
  with tf.variable_scope('Logits'):
    if global_pool:
      net = tf.reduce_mean(net, [1, 2], keepdims=True, name=global_pool_name)
      end_points['global_pool'] = net
    else:
      kernel_size = reduced_kernel_size(net, pool_kernel)
      net = slim.avg_pool2d(net, kernel_size, padding='VALID',
                            scope=avg_pool_scope.format(*kernel_size))
      end_points['AvgPool_1a'] = net
    if not num_classes:
      return net, end_points
    net = slim.dropout(net, keep_prob=dropout_keep_prob, scope='Dropout_1b')
    if pre_logits:
      end_points['PreLogits'] = net
    logits = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                         normalizer_fn=None, scope='Conv2d_1c_1x1')
    if spatial_squeeze:
      logits = tf.squeeze(logits, [1, 2], name='SpatialSqueeze')
  end_points['Logits'] = logits
  if prediction_fn:
    end_points['Predictions'] = prediction_fn(logits, scope='Predictions')
  return logits, end_points
