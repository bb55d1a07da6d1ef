"""Inception-v3 [1], optionally with Squeeze-and-Excitation [2].

The network is a convolutional stem (35 x 35 x 192), three 35 x 35 blocks
(Mixed_5b-5d), a grid reduction (Mixed_6a, 17 x 17 x 768), four 17 x 17 blocks
with factorized 7x7 convolutions (Mixed_6b-6e), a second reduction (Mixed_7a,
8 x 8 x 1280) and two 8 x 8 blocks with expanded filter banks (Mixed_7b-7c,
8 x 8 x 2048), then average pooling and a 1x1-conv classifier; an auxiliary
classifier reads Mixed_6e.

Unlike TF-Slim's `inception_v3_base`, which writes every Mixed block inline,
each kind of block is one helper function here (`_mixed_35`, `_mixed_6a`,
`_mixed_17`, `_mixed_7a`, `_mixed_8`) driven by a small table of per-block
settings, so each block has one attention point. The scope names of the
published checkpoint are kept as they are, including its irregular ones:
Mixed_5c's second branch is `Conv2d_0b_1x1` / `Conv_1_0c_5x5` (not
`Conv2d_0a_1x1` / `Conv2d_0b_5x5` as in Mixed_5b and 5d), Mixed_6a's 3x3
convs are named `Conv2d_1a_1x1`, and Mixed_7b's 3x1 conv is `Conv2d_0b_3x1`
where Mixed_7c's is `Conv2d_0c_3x1`.

Attention: with `attention_module='se_block'` the output of each of the 11
Mixed blocks (Mixed_5b ... Mixed_7c, the two reductions included) is
recalibrated, as the SE-Inception module of [2] (Fig. 2) does. SE variables
live under `InceptionV3/Mixed_<k>/se/`. With `attention_module=None` the
variables, their order and the end points are those of TF-Slim's
`inception_v3`, so its published ImageNet checkpoint (1001 classes) loads.

References:
  [1] Szegedy et al., Rethinking the Inception Architecture for Computer
      Vision, arXiv:1512.00567.
  [2] Hu et al., Squeeze-and-Excitation Networks, arXiv:1709.01507.

Typical use:

    from nets import inception_v3

    with slim.arg_scope(inception_v3.inception_v3_arg_scope()):
      logits, end_points = inception_v3.inception_v3(
          images, num_classes=1001, is_training=True,
          attention_module='se_block')
    # images: [batch, 299, 299, 3] -> logits: [batch, 1001]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import attention
from nets import inception_utils
from nets import pooled_logits

_LAYERS = [slim.conv2d, slim.max_pool2d, slim.avg_pool2d]


def _trunc_normal(stddev):
  return tf.truncated_normal_initializer(0.0, stddev)


def _mixed_35(net, scope, depth, pool_depth, branch_1_scopes,
              attention_module):
  """35 x 35 block (Mixed_5b/5c/5d; [1] Fig. 5, with a 5x5 branch).

  Attention, if on, is applied to the concatenation of the four branches.

  Args:
    net: `[batch, 35, 35, C]` input.
    scope: block scope, e.g. 'Mixed_5b'.
    depth: fn mapping a nominal channel count to the built one.
    pool_depth: nominal channels of the pooling branch (32 or 64).
    branch_1_scopes: (1x1 scope, 5x5 scope) of Branch_1.
    attention_module: None, or an `attention.Attention` (or bare name).

  Returns:
    `[batch, 35, 35, depth(64) + depth(64) + depth(96) + depth(pool_depth)]`.
  """
  with tf.variable_scope(scope):
    with tf.variable_scope('Branch_0'):
      branch_0 = slim.conv2d(net, depth(64), [1, 1], scope='Conv2d_0a_1x1')
    with tf.variable_scope('Branch_1'):
      branch_1 = slim.conv2d(net, depth(48), [1, 1],
                             scope=branch_1_scopes[0])
      branch_1 = slim.conv2d(branch_1, depth(64), [5, 5],
                             scope=branch_1_scopes[1])
    with tf.variable_scope('Branch_2'):
      branch_2 = slim.conv2d(net, depth(64), [1, 1], scope='Conv2d_0a_1x1')
      branch_2 = slim.conv2d(branch_2, depth(96), [3, 3],
                             scope='Conv2d_0b_3x3')
      branch_2 = slim.conv2d(branch_2, depth(96), [3, 3],
                             scope='Conv2d_0c_3x3')
    with tf.variable_scope('Branch_3'):
      branch_3 = slim.avg_pool2d(net, [3, 3], scope='AvgPool_0a_3x3')
      branch_3 = slim.conv2d(branch_3, depth(pool_depth), [1, 1],
                             scope='Conv2d_0b_1x1')
    net = tf.concat([branch_0, branch_1, branch_2, branch_3], axis=3)
    return attention.apply_attention(attention_module, net)


def _mixed_6a(net, depth, attention_module):
  """Grid reduction 35 x 35 -> 17 x 17 (Mixed_6a; [1] Fig. 10).

  Attention, if on, is applied to the concatenation of the three branches.

  Args:
    net: `[batch, 35, 35, 288]` input.
    depth: fn mapping a nominal channel count to the built one.
    attention_module: None, or an `attention.Attention` (or bare name).

  Returns:
    `[batch, 17, 17, depth(384) + depth(96) + 288]` (768 by default).
  """
  with tf.variable_scope('Mixed_6a'):
    with tf.variable_scope('Branch_0'):
      # The checkpoint names these 3x3 convs '..._1x1'.
      branch_0 = slim.conv2d(net, depth(384), [3, 3], stride=2,
                             padding='VALID', scope='Conv2d_1a_1x1')
    with tf.variable_scope('Branch_1'):
      branch_1 = slim.conv2d(net, depth(64), [1, 1], scope='Conv2d_0a_1x1')
      branch_1 = slim.conv2d(branch_1, depth(96), [3, 3],
                             scope='Conv2d_0b_3x3')
      branch_1 = slim.conv2d(branch_1, depth(96), [3, 3], stride=2,
                             padding='VALID', scope='Conv2d_1a_1x1')
    with tf.variable_scope('Branch_2'):
      branch_2 = slim.max_pool2d(net, [3, 3], stride=2, padding='VALID',
                                 scope='MaxPool_1a_3x3')
    net = tf.concat([branch_0, branch_1, branch_2], axis=3)
    return attention.apply_attention(attention_module, net)


def _mixed_17(net, scope, depth, depth_7x7, attention_module):
  """17 x 17 block with factorized 7x7 convs (Mixed_6b-6e; [1] Fig. 6).

  Attention, if on, is applied to the concatenation of the four branches.

  Args:
    net: `[batch, 17, 17, 768]` input.
    scope: block scope, e.g. 'Mixed_6b'.
    depth: fn mapping a nominal channel count to the built one.
    depth_7x7: nominal width inside the 7x7 towers (128, 160 or 192).
    attention_module: None, or an `attention.Attention` (or bare name).

  Returns:
    `[batch, 17, 17, 4 * depth(192)]` (768 by default).
  """
  inner = depth(depth_7x7)
  with tf.variable_scope(scope):
    with tf.variable_scope('Branch_0'):
      branch_0 = slim.conv2d(net, depth(192), [1, 1], scope='Conv2d_0a_1x1')
    with tf.variable_scope('Branch_1'):
      branch_1 = slim.conv2d(net, inner, [1, 1], scope='Conv2d_0a_1x1')
      branch_1 = slim.conv2d(branch_1, inner, [1, 7], scope='Conv2d_0b_1x7')
      branch_1 = slim.conv2d(branch_1, depth(192), [7, 1],
                             scope='Conv2d_0c_7x1')
    with tf.variable_scope('Branch_2'):
      branch_2 = slim.conv2d(net, inner, [1, 1], scope='Conv2d_0a_1x1')
      branch_2 = slim.conv2d(branch_2, inner, [7, 1], scope='Conv2d_0b_7x1')
      branch_2 = slim.conv2d(branch_2, inner, [1, 7], scope='Conv2d_0c_1x7')
      branch_2 = slim.conv2d(branch_2, inner, [7, 1], scope='Conv2d_0d_7x1')
      branch_2 = slim.conv2d(branch_2, depth(192), [1, 7],
                             scope='Conv2d_0e_1x7')
    with tf.variable_scope('Branch_3'):
      branch_3 = slim.avg_pool2d(net, [3, 3], scope='AvgPool_0a_3x3')
      branch_3 = slim.conv2d(branch_3, depth(192), [1, 1],
                             scope='Conv2d_0b_1x1')
    net = tf.concat([branch_0, branch_1, branch_2, branch_3], axis=3)
    return attention.apply_attention(attention_module, net)


def _mixed_7a(net, depth, attention_module):
  """Grid reduction 17 x 17 -> 8 x 8 (Mixed_7a).

  Attention, if on, is applied to the concatenation of the three branches.

  Args:
    net: `[batch, 17, 17, 768]` input.
    depth: fn mapping a nominal channel count to the built one.
    attention_module: None, or an `attention.Attention` (or bare name).

  Returns:
    `[batch, 8, 8, depth(320) + depth(192) + 768]` (1280 by default).
  """
  with tf.variable_scope('Mixed_7a'):
    with tf.variable_scope('Branch_0'):
      branch_0 = slim.conv2d(net, depth(192), [1, 1], scope='Conv2d_0a_1x1')
      branch_0 = slim.conv2d(branch_0, depth(320), [3, 3], stride=2,
                             padding='VALID', scope='Conv2d_1a_3x3')
    with tf.variable_scope('Branch_1'):
      branch_1 = slim.conv2d(net, depth(192), [1, 1], scope='Conv2d_0a_1x1')
      branch_1 = slim.conv2d(branch_1, depth(192), [1, 7],
                             scope='Conv2d_0b_1x7')
      branch_1 = slim.conv2d(branch_1, depth(192), [7, 1],
                             scope='Conv2d_0c_7x1')
      branch_1 = slim.conv2d(branch_1, depth(192), [3, 3], stride=2,
                             padding='VALID', scope='Conv2d_1a_3x3')
    with tf.variable_scope('Branch_2'):
      branch_2 = slim.max_pool2d(net, [3, 3], stride=2, padding='VALID',
                                 scope='MaxPool_1a_3x3')
    net = tf.concat([branch_0, branch_1, branch_2], axis=3)
    return attention.apply_attention(attention_module, net)


def _mixed_8(net, scope, depth, branch_1_3x1_scope, attention_module):
  """8 x 8 block with expanded filter banks (Mixed_7b/7c; [1] Fig. 7).

  Attention, if on, is applied to the concatenation of the four branches.

  Args:
    net: `[batch, 8, 8, C]` input.
    scope: block scope, 'Mixed_7b' or 'Mixed_7c'.
    depth: fn mapping a nominal channel count to the built one.
    branch_1_3x1_scope: scope of Branch_1's 3x1 conv ('Conv2d_0b_3x1' in
      Mixed_7b, 'Conv2d_0c_3x1' in Mixed_7c).
    attention_module: None, or an `attention.Attention` (or bare name).

  Returns:
    `[batch, 8, 8, depth(320) + 4 * depth(384) + depth(192)]` (2048).
  """
  with tf.variable_scope(scope):
    with tf.variable_scope('Branch_0'):
      branch_0 = slim.conv2d(net, depth(320), [1, 1], scope='Conv2d_0a_1x1')
    with tf.variable_scope('Branch_1'):
      branch_1 = slim.conv2d(net, depth(384), [1, 1], scope='Conv2d_0a_1x1')
      branch_1 = tf.concat([
          slim.conv2d(branch_1, depth(384), [1, 3], scope='Conv2d_0b_1x3'),
          slim.conv2d(branch_1, depth(384), [3, 1],
                      scope=branch_1_3x1_scope)], axis=3)
    with tf.variable_scope('Branch_2'):
      branch_2 = slim.conv2d(net, depth(448), [1, 1], scope='Conv2d_0a_1x1')
      branch_2 = slim.conv2d(branch_2, depth(384), [3, 3],
                             scope='Conv2d_0b_3x3')
      branch_2 = tf.concat([
          slim.conv2d(branch_2, depth(384), [1, 3], scope='Conv2d_0c_1x3'),
          slim.conv2d(branch_2, depth(384), [3, 1], scope='Conv2d_0d_3x1')],
                           axis=3)
    with tf.variable_scope('Branch_3'):
      branch_3 = slim.avg_pool2d(net, [3, 3], scope='AvgPool_0a_3x3')
      branch_3 = slim.conv2d(branch_3, depth(192), [1, 1],
                             scope='Conv2d_0b_1x1')
    net = tf.concat([branch_0, branch_1, branch_2, branch_3], axis=3)
    return attention.apply_attention(attention_module, net)


# The Mixed blocks in order: (end point, helper, per-block kwargs). The
# irregular scope names are the published checkpoint's (module docstring).
_MIXED_BLOCKS = (
    ('Mixed_5b', _mixed_35, dict(scope='Mixed_5b', pool_depth=32,
                                 branch_1_scopes=('Conv2d_0a_1x1',
                                                  'Conv2d_0b_5x5'))),
    ('Mixed_5c', _mixed_35, dict(scope='Mixed_5c', pool_depth=64,
                                 branch_1_scopes=('Conv2d_0b_1x1',
                                                  'Conv_1_0c_5x5'))),
    ('Mixed_5d', _mixed_35, dict(scope='Mixed_5d', pool_depth=64,
                                 branch_1_scopes=('Conv2d_0a_1x1',
                                                  'Conv2d_0b_5x5'))),
    ('Mixed_6a', _mixed_6a, {}),
    ('Mixed_6b', _mixed_17, dict(scope='Mixed_6b', depth_7x7=128)),
    ('Mixed_6c', _mixed_17, dict(scope='Mixed_6c', depth_7x7=160)),
    ('Mixed_6d', _mixed_17, dict(scope='Mixed_6d', depth_7x7=160)),
    ('Mixed_6e', _mixed_17, dict(scope='Mixed_6e', depth_7x7=192)),
    ('Mixed_7a', _mixed_7a, {}),
    ('Mixed_7b', _mixed_8, dict(scope='Mixed_7b',
                                branch_1_3x1_scope='Conv2d_0b_3x1')),
    ('Mixed_7c', _mixed_8, dict(scope='Mixed_7c',
                                branch_1_3x1_scope='Conv2d_0c_3x1')),
)

# Stem layers: (end point, 'conv' or 'pool', depth, kernel, stride, padding).
_STEM = (
    ('Conv2d_1a_3x3', 'conv', 32, [3, 3], 2, 'VALID'),    # 149 x 149 x 32
    ('Conv2d_2a_3x3', 'conv', 32, [3, 3], 1, 'VALID'),    # 147 x 147 x 32
    ('Conv2d_2b_3x3', 'conv', 64, [3, 3], 1, 'SAME'),     # 147 x 147 x 64
    ('MaxPool_3a_3x3', 'pool', None, [3, 3], 2, 'VALID'),  # 73 x 73 x 64
    ('Conv2d_3b_1x1', 'conv', 80, [1, 1], 1, 'VALID'),    # 73 x 73 x 80
    ('Conv2d_4a_3x3', 'conv', 192, [3, 3], 1, 'VALID'),   # 71 x 71 x 192
    ('MaxPool_5a_3x3', 'pool', None, [3, 3], 2, 'VALID'),  # 35 x 35 x 192
)

_END_POINTS = tuple(row[0] for row in _STEM + _MIXED_BLOCKS)


def inception_v3_base(inputs,
                      final_endpoint='Mixed_7c',
                      min_depth=16,
                      depth_multiplier=1.0,
                      scope=None,
                      attention_module=None):
  """Builds Inception-v3 from the input up to `final_endpoint`.

  Args:
    inputs: 4-D tensor `[batch, height, width, channels]`.
    final_endpoint: the last end point to build, one of `_END_POINTS`
      ('Conv2d_1a_3x3' ... 'Mixed_7c').
    min_depth: smallest channel count of any conv when `depth_multiplier`
      < 1.
    depth_multiplier: float multiplier (> 0) of every conv's channel count.
    scope: variable scope, default 'InceptionV3'.
    attention_module: None or an `attention.Attention`; applied to
      the output of every Mixed block.

  Returns:
    `(net, end_points)`: the output of `final_endpoint` and an ordered dict
    of the end points built.

  Raises:
    ValueError: if `final_endpoint` is unknown or `depth_multiplier` <= 0.
  """
  if final_endpoint not in _END_POINTS:
    raise ValueError('Unknown final_endpoint %r; expected one of: %s' %
                     (final_endpoint, ', '.join(_END_POINTS)))
  if depth_multiplier <= 0:
    raise ValueError('depth_multiplier must be greater than zero, got %r' %
                     (depth_multiplier,))

  def depth(d):
    return max(int(d * depth_multiplier), min_depth)

  end_points = {}
  with tf.variable_scope(scope, 'InceptionV3', [inputs]):
    # 299 x 299 x 3 -> 35 x 35 x 192
    net = inputs
    with slim.arg_scope(_LAYERS, stride=1, padding='VALID'):
      for name, kind, channels, kernel, stride, padding in _STEM:
        if kind == 'conv':
          net = slim.conv2d(net, depth(channels), kernel, stride=stride,
                            padding=padding, scope=name)
        else:
          net = slim.max_pool2d(net, kernel, stride=stride, padding=padding,
                                scope=name)
        end_points[name] = net
        if name == final_endpoint:
          return net, end_points
    # 35 x 35 x 192 -> Mixed_5b/c/d (35 x 35 x 288) -> Mixed_6a (17 x 17 x
    # 768) -> Mixed_6b-e -> Mixed_7a (8 x 8 x 1280) -> Mixed_7b/c (8 x 8 x 2048)
    with slim.arg_scope(_LAYERS, stride=1, padding='SAME'):
      for name, block_fn, block_kwargs in _MIXED_BLOCKS:
        net = block_fn(net, depth=depth, attention_module=attention_module,
                       **block_kwargs)
        end_points[name] = net
        if name == final_endpoint:
          return net, end_points
  # Unreachable: every name in _END_POINTS returns above.
  raise AssertionError('final_endpoint %r was not built' % final_endpoint)


def inception_v3(inputs,
                 num_classes=1000,
                 is_training=True,
                 dropout_keep_prob=0.8,
                 min_depth=16,
                 depth_multiplier=1.0,
                 prediction_fn=slim.softmax,
                 spatial_squeeze=True,
                 reuse=None,
                 create_aux_logits=True,
                 scope='InceptionV3',
                 global_pool=False,
                 attention_module=None):
  """Inception-v3 classifier [1], with optional SE blocks [2].

  The auxiliary head's second conv is named after its kernel, which shrinks
  with the input (`AuxLogits/Conv2d_2a_5x5` at 299 x 299), and so is the
  final pooling (`Logits/AvgPool_1a_8x8`).

  Args:
    inputs: 4-D tensor `[batch, height, width, 3]`, 299 x 299 by default.
    num_classes: number of classes. If 0 or None, the logits layer (and the
      auxiliary head) are omitted and the pooled features are returned.
    is_training: whether batch norm and dropout run in training mode.
    dropout_keep_prob: fraction of the pooled features kept by dropout.
    min_depth: smallest channel count when `depth_multiplier` < 1.
    depth_multiplier: float multiplier (> 0) of every conv's channel count.
    prediction_fn: function mapping logits to the 'Predictions' end point.
    spatial_squeeze: if True, logits are `[batch, num_classes]`, else
      `[batch, 1, 1, num_classes]`.
    reuse: whether to reuse the network's variables (`scope` must be given).
    create_aux_logits: whether to build the auxiliary classifier on Mixed_6e.
    scope: variable scope.
    global_pool: if True, pool with a global mean ('global_pool' end point)
      instead of an 8x8 average pool ('AvgPool_1a'), for any input size.
    attention_module: None or an `attention.Attention`; applied to
      the output of every Mixed block.

  Returns:
    `(logits, end_points)`: logits (or, if `num_classes` is 0/None, the
    pooled features `[batch, 1, 1, 2048]`) and an ordered dict of end points.

  Raises:
    ValueError: if `depth_multiplier` <= 0, or for an unknown attention
      module or invalid reduction ratio.
  """
  if depth_multiplier <= 0:
    raise ValueError('depth_multiplier must be greater than zero, got %r' %
                     (depth_multiplier,))

  def depth(d):
    return max(int(d * depth_multiplier), min_depth)

  with tf.variable_scope(scope, 'InceptionV3', [inputs], reuse=reuse) as scope:
    with slim.arg_scope([slim.batch_norm, slim.dropout],
                        is_training=is_training):
      net, end_points = inception_v3_base(
          inputs, scope=scope, min_depth=min_depth,
          depth_multiplier=depth_multiplier,
          attention_module=attention_module)

      if create_aux_logits and num_classes:
        with slim.arg_scope(_LAYERS, stride=1, padding='SAME'):
          with tf.variable_scope('AuxLogits'):
            # 17 x 17 x 768
            aux = slim.avg_pool2d(end_points['Mixed_6e'], [5, 5], stride=3,
                                  padding='VALID', scope='AvgPool_1a_5x5')
            # 5 x 5 x 768
            aux = slim.conv2d(aux, depth(128), [1, 1], scope='Conv2d_1b_1x1')
            kernel_size = pooled_logits.reduced_kernel_size(aux, [5, 5])
            aux = slim.conv2d(aux, depth(768), kernel_size,
                              weights_initializer=_trunc_normal(0.01),
                              padding='VALID',
                              scope='Conv2d_2a_{}x{}'.format(*kernel_size))
            # 1 x 1 x 768
            aux = slim.conv2d(aux, num_classes, [1, 1], activation_fn=None,
                              normalizer_fn=None,
                              weights_initializer=_trunc_normal(0.001),
                              scope='Conv2d_2b_1x1')
            if spatial_squeeze:
              aux = tf.squeeze(aux, [1, 2], name='SpatialSqueeze')
            end_points['AuxLogits'] = aux

      # 8 x 8 x 2048 at 299 x 299
      return pooled_logits.classifier(
          net, end_points, num_classes, pool_kernel=[8, 8],
          dropout_keep_prob=dropout_keep_prob, prediction_fn=prediction_fn,
          spatial_squeeze=spatial_squeeze, global_pool=global_pool,
          global_pool_name='GlobalPool')


inception_v3.default_image_size = 299

inception_v3_arg_scope = inception_utils.inception_arg_scope
