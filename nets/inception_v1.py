"""Inception-v1 (GoogLeNet) [1] with batch norm, as in TF-Slim. No attention.

The network is a table: the stem (`_ROOT`) and nine Inception modules with
two max pools between them (`_BODY`), each module four branches (1x1;
1x1 -> 3x3; 1x1 -> 3x3; 3x3 max pool -> 1x1) concatenated. Its variables and
end points equal TF-Slim's research version, including its
`include_root_block` option (start at 'Mixed_3b', for inputs that are
already features), which `tf_slim.nets`' copy lacks; so does its head, which
lacks the 'AvgPool_0a_7x7' end point and `global_pool` / `num_classes=0`
(features only) that Slim's published checkpoint and users rely on.

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

from nets import inception_utils

# The stem: (end point, 'conv' or 'pool', channels or None, kernel, stride).
_ROOT = (
    ('Conv2d_1a_7x7', 'conv', 64, 7, 2),   # 112 x 112 x 64 at 224 input
    ('MaxPool_2a_3x3', 'pool', None, 3, 2),
    ('Conv2d_2b_1x1', 'conv', 64, 1, 1),
    ('Conv2d_2c_3x3', 'conv', 192, 3, 1),
    ('MaxPool_3a_3x3', 'pool', None, 3, 2),  # 28 x 28 x 192
)

# The body ([1], Table 1): an Inception module is (end point, (#1x1,
# #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj)), where Slim's "5x5"
# branch is a 3x3 conv; a pool is (end point, kernel, stride).
_BODY = (
    ('Mixed_3b', (64, 96, 128, 16, 32, 32)),      # 28 x 28 x 256
    ('Mixed_3c', (128, 128, 192, 32, 96, 64)),    # 28 x 28 x 480
    ('MaxPool_4a_3x3', 3, 2),
    ('Mixed_4b', (192, 96, 208, 16, 48, 64)),
    ('Mixed_4c', (160, 112, 224, 24, 64, 64)),
    ('Mixed_4d', (128, 128, 256, 24, 64, 64)),
    ('Mixed_4e', (112, 144, 288, 32, 64, 64)),
    ('Mixed_4f', (256, 160, 320, 32, 128, 128)),  # 14 x 14 x 832
    ('MaxPool_5a_2x2', 2, 2),
    ('Mixed_5b', (256, 160, 320, 32, 128, 128)),
    ('Mixed_5c', (384, 192, 384, 48, 128, 128)),  # 7 x 7 x 1024
)


def _module(net, depths, scope):
  """One Inception module: four branches, concatenated on channels."""
  d0, d1a, d1b, d2a, d2b, d3 = depths
  # Slim's checkpoint names Mixed_5b's second 3x3 'Conv2d_0a_3x3' (a typo
  # now frozen by the published weights).
  branch_2_scope = 'Conv2d_0a_3x3' if scope == 'Mixed_5b' else 'Conv2d_0b_3x3'
  with tf.variable_scope(scope):
    with tf.variable_scope('Branch_0'):
      branch_0 = slim.conv2d(net, d0, [1, 1], scope='Conv2d_0a_1x1')
    with tf.variable_scope('Branch_1'):
      branch_1 = slim.conv2d(net, d1a, [1, 1], scope='Conv2d_0a_1x1')
      branch_1 = slim.conv2d(branch_1, d1b, [3, 3], scope='Conv2d_0b_3x3')
    with tf.variable_scope('Branch_2'):
      branch_2 = slim.conv2d(net, d2a, [1, 1], scope='Conv2d_0a_1x1')
      branch_2 = slim.conv2d(branch_2, d2b, [3, 3], scope=branch_2_scope)
    with tf.variable_scope('Branch_3'):
      branch_3 = slim.max_pool2d(net, [3, 3], scope='MaxPool_0a_3x3')
      branch_3 = slim.conv2d(branch_3, d3, [1, 1], scope='Conv2d_0b_1x1')
    return tf.concat([branch_0, branch_1, branch_2, branch_3], 3)


def inception_v1_base(inputs, final_endpoint='Mixed_5c',
                      include_root_block=True, scope='InceptionV1'):
  """Inception-v1 feature extractor [1], up to `final_endpoint`.

  Args:
    inputs: `[batch, height, width, channels]`.
    final_endpoint: the last end point built: a stem layer ('Conv2d_1a_7x7'
      ... 'MaxPool_3a_3x3'), a module ('Mixed_3b' ... 'Mixed_5c') or a pool
      ('MaxPool_4a_3x3', 'MaxPool_5a_2x2').
    include_root_block: build the stem; if False, `inputs` go straight to
      'Mixed_3b' (and the stem's end points cannot be asked for).
    scope: variable scope.

  Returns:
    `(net, end_points)`: the `final_endpoint` activation (`[batch, 7, 7,
    1024]` for 'Mixed_5c' at 224 x 224) and a dict of every end point built.

  Raises:
    ValueError: if `final_endpoint` is not one of those built.
  """
  layers = (_ROOT if include_root_block else ()) + _BODY
  names = [layer[0] for layer in layers]
  if final_endpoint not in names:
    raise ValueError('Unknown final_endpoint %r; expected one of: %s' %
                     (final_endpoint, ', '.join(names)))
  end_points = {}
  with tf.variable_scope(scope, 'InceptionV1', [inputs]):
    with slim.arg_scope([slim.conv2d, slim.fully_connected],
                        weights_initializer=tf.truncated_normal_initializer(
                            0.0, 0.01)), \
        slim.arg_scope([slim.conv2d, slim.max_pool2d], stride=1,
                       padding='SAME'):
      net = inputs
      for layer in layers:
        name = layer[0]
        if len(layer) == 5 and layer[1] == 'conv':
          net = slim.conv2d(net, layer[2], [layer[3], layer[3]],
                            stride=layer[4], scope=name)
        elif len(layer) == 5:
          net = slim.max_pool2d(net, [layer[3], layer[3]], stride=layer[4],
                                scope=name)
        elif len(layer) == 3:
          net = slim.max_pool2d(net, [layer[1], layer[1]], stride=layer[2],
                                scope=name)
        else:
          net = _module(net, layer[1], name)
        end_points[name] = net
        if name == final_endpoint:
          return net, end_points
  raise AssertionError('unreachable: final_endpoint %r was validated' %
                       final_endpoint)


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
