"""Inception-v2 (BN-Inception) [1], as in TF-Slim. No attention.

The feature extractor is a table: the stem (`_ROOT`, starting with a
separable 7x7 conv) and ten modules (`_BODY`: Inception modules of four
branches and two grid reductions of three). Its variables and end points
equal TF-Slim's research version, with that version's options
`use_separable_conv`, `data_format` and `include_root_block`, which
`tf_slim.nets`' copy lacks; so does its classifier head, which lacks the
'AvgPool_1a' and 'PreLogits' end points and `global_pool` /
`num_classes=0` (features only).

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

from nets import inception_utils
from nets import pooled_logits

DATA_FORMATS = ('NHWC', 'NCHW')

# The body ([1], Fig. 5 and Sec. 4). An Inception module is (end point,
# ('module', #1x1, #3x3 reduce, #3x3, #double 3x3 reduce, #double 3x3, pool,
# pool proj)); a grid reduction is (end point, ('reduction', #3x3 reduce,
# #3x3 (stride 2), #double 3x3 reduce, #double 3x3 (the second stride 2))).
_BODY = (
    ('Mixed_3b', ('module', 64, 64, 64, 64, 96, 'avg', 32)),       # 28x28x256
    ('Mixed_3c', ('module', 64, 64, 96, 64, 96, 'avg', 64)),       # 28x28x320
    ('Mixed_4a', ('reduction', 128, 160, 64, 96)),                 # 14x14x576
    ('Mixed_4b', ('module', 224, 64, 96, 96, 128, 'avg', 128)),
    ('Mixed_4c', ('module', 192, 96, 128, 96, 128, 'avg', 128)),
    ('Mixed_4d', ('module', 160, 128, 160, 128, 160, 'avg', 96)),
    ('Mixed_4e', ('module', 96, 128, 192, 160, 192, 'avg', 96)),   # 14x14x576
    ('Mixed_5a', ('reduction', 128, 192, 192, 256)),               # 7x7x1024
    ('Mixed_5b', ('module', 352, 192, 320, 160, 224, 'avg', 128)),
    ('Mixed_5c', ('module', 352, 192, 320, 192, 224, 'max', 128)),  # 7x7x1024
)
_ROOT_END_POINTS = ('Conv2d_1a_7x7', 'MaxPool_2a_3x3', 'Conv2d_2b_1x1',
                    'Conv2d_2c_3x3', 'MaxPool_3a_3x3')


def _trunc_normal(stddev):
  return tf.truncated_normal_initializer(0.0, stddev)


def _tower(net, reduce_depth, depth, scopes, stride=1):
  """1x1 reduction to `reduce_depth`, then one 3x3 conv to `depth` per name
  in `scopes`; the last of them has `stride`."""
  net = slim.conv2d(net, reduce_depth, [1, 1],
                    weights_initializer=_trunc_normal(0.09),
                    scope='Conv2d_0a_1x1')
  for i, scope in enumerate(scopes):
    net = slim.conv2d(net, depth, [3, 3],
                      stride=stride if i == len(scopes) - 1 else 1,
                      scope=scope)
  return net


def _module(net, spec, depth, concat_axis):
  """One Inception module or grid reduction of `_BODY`."""
  if spec[0] == 'reduction':
    _, d0a, d0b, d1a, d1b = spec
    with tf.variable_scope('Branch_0'):
      branch_0 = _tower(net, depth(d0a), depth(d0b), ['Conv2d_1a_3x3'],
                        stride=2)
    with tf.variable_scope('Branch_1'):
      branch_1 = _tower(net, depth(d1a), depth(d1b),
                        ['Conv2d_0b_3x3', 'Conv2d_1a_3x3'], stride=2)
    with tf.variable_scope('Branch_2'):
      branch_2 = slim.max_pool2d(net, [3, 3], stride=2, scope='MaxPool_1a_3x3')
    return tf.concat(axis=concat_axis, values=[branch_0, branch_1, branch_2])
  _, d0, d1a, d1b, d2a, d2b, pool, d3 = spec
  with tf.variable_scope('Branch_0'):
    branch_0 = slim.conv2d(net, depth(d0), [1, 1], scope='Conv2d_0a_1x1')
  with tf.variable_scope('Branch_1'):
    branch_1 = _tower(net, depth(d1a), depth(d1b), ['Conv2d_0b_3x3'])
  with tf.variable_scope('Branch_2'):
    branch_2 = _tower(net, depth(d2a), depth(d2b),
                      ['Conv2d_0b_3x3', 'Conv2d_0c_3x3'])
  with tf.variable_scope('Branch_3'):
    if pool == 'avg':
      branch_3 = slim.avg_pool2d(net, [3, 3], scope='AvgPool_0a_3x3')
    else:
      branch_3 = slim.max_pool2d(net, [3, 3], scope='MaxPool_0a_3x3')
    branch_3 = slim.conv2d(branch_3, depth(d3), [1, 1],
                           weights_initializer=_trunc_normal(0.1),
                           scope='Conv2d_0b_1x1')
  return tf.concat(axis=concat_axis,
                   values=[branch_0, branch_1, branch_2, branch_3])


def _root(inputs, depth, use_separable_conv, final_endpoint, end_points):
  """The stem, up to 'MaxPool_3a_3x3' or `final_endpoint` if earlier."""
  # 224 x 224 x 3
  if use_separable_conv:
    # The depthwise multiplier (channels per input channel of the 7x7
    # depthwise step) is kept <= out/in so the layer is not
    # over-parameterized; `depth_multiplier` scales the 1x1 output.
    net = slim.separable_conv2d(
        inputs, depth(64), [7, 7],
        depth_multiplier=min(int(depth(64) / 3), 8), stride=2,
        weights_initializer=_trunc_normal(1.0), scope='Conv2d_1a_7x7')
  else:
    net = slim.conv2d(inputs, depth(64), [7, 7], stride=2,
                      weights_initializer=_trunc_normal(1.0),
                      scope='Conv2d_1a_7x7')
  layers = (
      ('MaxPool_2a_3x3', lambda x: slim.max_pool2d(
          x, [3, 3], stride=2, scope='MaxPool_2a_3x3')),   # 56 x 56 x 64
      ('Conv2d_2b_1x1', lambda x: slim.conv2d(
          x, depth(64), [1, 1], weights_initializer=_trunc_normal(0.1),
          scope='Conv2d_2b_1x1')),
      ('Conv2d_2c_3x3', lambda x: slim.conv2d(
          x, depth(192), [3, 3], scope='Conv2d_2c_3x3')),
      ('MaxPool_3a_3x3', lambda x: slim.max_pool2d(
          x, [3, 3], stride=2, scope='MaxPool_3a_3x3')),   # 28 x 28 x 192
  )
  end_points['Conv2d_1a_7x7'] = net
  if final_endpoint == 'Conv2d_1a_7x7':
    return net
  for name, layer in layers:
    net = layer(net)
    end_points[name] = net
    if name == final_endpoint:
      break
  return net


def inception_v2_base(inputs,
                      final_endpoint='Mixed_5c',
                      min_depth=16,
                      depth_multiplier=1.0,
                      use_separable_conv=True,
                      data_format='NHWC',
                      include_root_block=True,
                      scope=None):
  """Inception-v2 feature extractor [1], up to `final_endpoint`.

  Args:
    inputs: `[batch, height, width, channels]` (`[batch, channels, height,
      width]` for 'NCHW').
    final_endpoint: the last end point built: a stem layer ('Conv2d_1a_7x7'
      ... 'MaxPool_3a_3x3') or a module ('Mixed_3b' ... 'Mixed_5c').
    min_depth: smallest channel count when `depth_multiplier` < 1.
    depth_multiplier: float multiplier (> 0) of every conv's channel count.
    use_separable_conv: make 'Conv2d_1a_7x7' separable (Slim's published
      model); False makes it a standard 7x7 conv.
    data_format: 'NHWC' or 'NCHW' (the latter needs
      `use_separable_conv=False`: separable convs are NHWC only).
    include_root_block: build the stem; if False, `inputs` go straight to
      'Mixed_3b'.
    scope: variable scope; default 'InceptionV2'.

  Returns:
    `(net, end_points)`: the `final_endpoint` activation (`[batch, 7, 7,
    1024]` for 'Mixed_5c' at 224 x 224) and a dict of every end point built.

  Raises:
    ValueError: if `depth_multiplier` <= 0, `data_format` is unknown or
      'NCHW' with a separable conv, or `final_endpoint` is not built.
  """
  if depth_multiplier <= 0:
    raise ValueError('depth_multiplier must be greater than zero, got %r' %
                     (depth_multiplier,))
  if data_format not in DATA_FORMATS:
    raise ValueError('Unknown data_format %r; expected one of: %s' %
                     (data_format, ', '.join(DATA_FORMATS)))
  if data_format == 'NCHW' and use_separable_conv:
    raise ValueError("data_format='NCHW' needs use_separable_conv=False: "
                     'separable convolutions are NHWC only')
  names = ((_ROOT_END_POINTS if include_root_block else ()) +
           tuple(name for name, _ in _BODY))
  if final_endpoint not in names:
    raise ValueError('Unknown final_endpoint %r; expected one of: %s' %
                     (final_endpoint, ', '.join(names)))

  def depth(d):
    return max(int(d * depth_multiplier), min_depth)

  concat_axis = 3 if data_format == 'NHWC' else 1
  end_points = {}
  with tf.variable_scope(scope, 'InceptionV2', [inputs]):
    with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d,
                         slim.separable_conv2d], stride=1, padding='SAME'), \
        slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d],
                       data_format=data_format):
      net = inputs
      if include_root_block:
        net = _root(inputs, depth, use_separable_conv, final_endpoint,
                    end_points)
        if final_endpoint in end_points:
          return net, end_points
      for name, spec in _BODY:
        with tf.variable_scope(name):
          net = _module(net, spec, depth, concat_axis)
        end_points[name] = net
        if name == final_endpoint:
          return net, end_points
  raise AssertionError('unreachable: final_endpoint %r was validated' %
                       final_endpoint)


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
