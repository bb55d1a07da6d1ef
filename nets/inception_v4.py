"""Inception-v4 [1], optionally with Squeeze-and-Excitation [2] (SE-Inception-v4).

The network is a stem, 4 Inception-A blocks (35 x 35 x 384), Reduction-A,
7 Inception-B blocks (17 x 17 x 1024), Reduction-B and 3 Inception-C blocks
(8 x 8 x 1536), followed by average pooling and a fully connected classifier;
an auxiliary classifier reads the last Inception-B block.

Attention: with `attention_module='se_block'` every Inception-A, -B and -C
block recalibrates its concatenated output, as the SE-Inception module of [2]
(Fig. 2) does; the reduction blocks and the stem are left alone. That is 14 SE
blocks, whose variables live under `InceptionV4/Mixed_<k>/se/` (e.g.
`InceptionV4/Mixed_6b/se/fc1/weights`). At r=16 they add 1,890,112 trainable
parameters. With `attention_module=None` the variables, their creation order
and the end points are those of TF-Slim's `inception_v4`, so its published
ImageNet checkpoint (1001 classes) loads unchanged.

References:
  [1] Szegedy et al., Inception-v4, Inception-ResNet and the Impact of
      Residual Connections on Learning, arXiv:1602.07261.
  [2] Hu et al., Squeeze-and-Excitation Networks, arXiv:1709.01507.

Typical use:

    from nets import inception_v4

    with slim.arg_scope(inception_v4.inception_v4_arg_scope()):
      logits, end_points = inception_v4.inception_v4(
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

_SAME_STRIDE_1 = dict(stride=1, padding='SAME')
_LAYERS = [slim.conv2d, slim.avg_pool2d, slim.max_pool2d]


def block_inception_a(inputs, scope=None, reuse=None, attention_module=None):
  """Inception-A block ([1], Fig. 4): 35 x 35 x 384 -> 35 x 35 x 384.

  Attention, if on, is applied to the concatenation of the four branches.

  Args:
    inputs: 4-D tensor `[batch, 35, 35, 384]` (any spatial size works).
    scope: variable scope, default 'BlockInceptionA'.
    reuse: whether to reuse the block's variables.
    attention_module: None, or an `attention.Attention` (or bare name).

  Returns:
    Tensor `[batch, height, width, 384]`.
  """
  with slim.arg_scope(_LAYERS, **_SAME_STRIDE_1):
    with tf.variable_scope(scope, 'BlockInceptionA', [inputs], reuse=reuse):
      with tf.variable_scope('Branch_0'):
        branch_0 = slim.conv2d(inputs, 96, [1, 1], scope='Conv2d_0a_1x1')
      with tf.variable_scope('Branch_1'):
        branch_1 = slim.conv2d(inputs, 64, [1, 1], scope='Conv2d_0a_1x1')
        branch_1 = slim.conv2d(branch_1, 96, [3, 3], scope='Conv2d_0b_3x3')
      with tf.variable_scope('Branch_2'):
        branch_2 = slim.conv2d(inputs, 64, [1, 1], scope='Conv2d_0a_1x1')
        branch_2 = slim.conv2d(branch_2, 96, [3, 3], scope='Conv2d_0b_3x3')
        branch_2 = slim.conv2d(branch_2, 96, [3, 3], scope='Conv2d_0c_3x3')
      with tf.variable_scope('Branch_3'):
        branch_3 = slim.avg_pool2d(inputs, [3, 3], scope='AvgPool_0a_3x3')
        branch_3 = slim.conv2d(branch_3, 96, [1, 1], scope='Conv2d_0b_1x1')
      net = tf.concat([branch_0, branch_1, branch_2, branch_3], axis=3)
      return attention.apply_attention(attention_module, net)


def block_reduction_a(inputs, scope=None, reuse=None):
  """Reduction-A block ([1], Fig. 7, k=192 l=224 m=256 n=384).

  35 x 35 x 384 -> 17 x 17 x 1024. No attention (not an SE-Inception module).

  Args:
    inputs: 4-D tensor `[batch, 35, 35, 384]`.
    scope: variable scope, default 'BlockReductionA'.
    reuse: whether to reuse the block's variables.

  Returns:
    Tensor `[batch, 17, 17, 1024]` for a 35 x 35 input.
  """
  with slim.arg_scope(_LAYERS, **_SAME_STRIDE_1):
    with tf.variable_scope(scope, 'BlockReductionA', [inputs], reuse=reuse):
      with tf.variable_scope('Branch_0'):
        branch_0 = slim.conv2d(inputs, 384, [3, 3], stride=2, padding='VALID',
                               scope='Conv2d_1a_3x3')
      with tf.variable_scope('Branch_1'):
        branch_1 = slim.conv2d(inputs, 192, [1, 1], scope='Conv2d_0a_1x1')
        branch_1 = slim.conv2d(branch_1, 224, [3, 3], scope='Conv2d_0b_3x3')
        branch_1 = slim.conv2d(branch_1, 256, [3, 3], stride=2,
                               padding='VALID', scope='Conv2d_1a_3x3')
      with tf.variable_scope('Branch_2'):
        branch_2 = slim.max_pool2d(inputs, [3, 3], stride=2, padding='VALID',
                                   scope='MaxPool_1a_3x3')
      return tf.concat([branch_0, branch_1, branch_2], axis=3)


def block_inception_b(inputs, scope=None, reuse=None, attention_module=None):
  """Inception-B block ([1], Fig. 5): 17 x 17 x 1024 -> 17 x 17 x 1024.

  Attention, if on, is applied to the concatenation of the four branches.

  Args:
    inputs: 4-D tensor `[batch, 17, 17, 1024]` (any spatial size works).
    scope: variable scope, default 'BlockInceptionB'.
    reuse: whether to reuse the block's variables.
    attention_module: None, or an `attention.Attention` (or bare name).

  Returns:
    Tensor `[batch, height, width, 1024]`.
  """
  with slim.arg_scope(_LAYERS, **_SAME_STRIDE_1):
    with tf.variable_scope(scope, 'BlockInceptionB', [inputs], reuse=reuse):
      with tf.variable_scope('Branch_0'):
        branch_0 = slim.conv2d(inputs, 384, [1, 1], scope='Conv2d_0a_1x1')
      with tf.variable_scope('Branch_1'):
        branch_1 = slim.conv2d(inputs, 192, [1, 1], scope='Conv2d_0a_1x1')
        branch_1 = slim.conv2d(branch_1, 224, [1, 7], scope='Conv2d_0b_1x7')
        branch_1 = slim.conv2d(branch_1, 256, [7, 1], scope='Conv2d_0c_7x1')
      with tf.variable_scope('Branch_2'):
        branch_2 = slim.conv2d(inputs, 192, [1, 1], scope='Conv2d_0a_1x1')
        branch_2 = slim.conv2d(branch_2, 192, [7, 1], scope='Conv2d_0b_7x1')
        branch_2 = slim.conv2d(branch_2, 224, [1, 7], scope='Conv2d_0c_1x7')
        branch_2 = slim.conv2d(branch_2, 224, [7, 1], scope='Conv2d_0d_7x1')
        branch_2 = slim.conv2d(branch_2, 256, [1, 7], scope='Conv2d_0e_1x7')
      with tf.variable_scope('Branch_3'):
        branch_3 = slim.avg_pool2d(inputs, [3, 3], scope='AvgPool_0a_3x3')
        branch_3 = slim.conv2d(branch_3, 128, [1, 1], scope='Conv2d_0b_1x1')
      net = tf.concat([branch_0, branch_1, branch_2, branch_3], axis=3)
      return attention.apply_attention(attention_module, net)


def block_reduction_b(inputs, scope=None, reuse=None):
  """Reduction-B block ([1], Fig. 8): 17 x 17 x 1024 -> 8 x 8 x 1536.

  No attention (not an SE-Inception module).

  Args:
    inputs: 4-D tensor `[batch, 17, 17, 1024]`.
    scope: variable scope, default 'BlockReductionB'.
    reuse: whether to reuse the block's variables.

  Returns:
    Tensor `[batch, 8, 8, 1536]` for a 17 x 17 input.
  """
  with slim.arg_scope(_LAYERS, **_SAME_STRIDE_1):
    with tf.variable_scope(scope, 'BlockReductionB', [inputs], reuse=reuse):
      with tf.variable_scope('Branch_0'):
        branch_0 = slim.conv2d(inputs, 192, [1, 1], scope='Conv2d_0a_1x1')
        branch_0 = slim.conv2d(branch_0, 192, [3, 3], stride=2,
                               padding='VALID', scope='Conv2d_1a_3x3')
      with tf.variable_scope('Branch_1'):
        branch_1 = slim.conv2d(inputs, 256, [1, 1], scope='Conv2d_0a_1x1')
        branch_1 = slim.conv2d(branch_1, 256, [1, 7], scope='Conv2d_0b_1x7')
        branch_1 = slim.conv2d(branch_1, 320, [7, 1], scope='Conv2d_0c_7x1')
        branch_1 = slim.conv2d(branch_1, 320, [3, 3], stride=2,
                               padding='VALID', scope='Conv2d_1a_3x3')
      with tf.variable_scope('Branch_2'):
        branch_2 = slim.max_pool2d(inputs, [3, 3], stride=2, padding='VALID',
                                   scope='MaxPool_1a_3x3')
      return tf.concat([branch_0, branch_1, branch_2], axis=3)


def block_inception_c(inputs, scope=None, reuse=None, attention_module=None):
  """Inception-C block ([1], Fig. 6): 8 x 8 x 1536 -> 8 x 8 x 1536.

  Attention, if on, is applied to the concatenation of the four branches.

  Args:
    inputs: 4-D tensor `[batch, 8, 8, 1536]` (any spatial size works).
    scope: variable scope, default 'BlockInceptionC'.
    reuse: whether to reuse the block's variables.
    attention_module: None, or an `attention.Attention` (or bare name).

  Returns:
    Tensor `[batch, height, width, 1536]`.
  """
  with slim.arg_scope(_LAYERS, **_SAME_STRIDE_1):
    with tf.variable_scope(scope, 'BlockInceptionC', [inputs], reuse=reuse):
      with tf.variable_scope('Branch_0'):
        branch_0 = slim.conv2d(inputs, 256, [1, 1], scope='Conv2d_0a_1x1')
      with tf.variable_scope('Branch_1'):
        branch_1 = slim.conv2d(inputs, 384, [1, 1], scope='Conv2d_0a_1x1')
        branch_1 = tf.concat([
            slim.conv2d(branch_1, 256, [1, 3], scope='Conv2d_0b_1x3'),
            slim.conv2d(branch_1, 256, [3, 1], scope='Conv2d_0c_3x1')], axis=3)
      with tf.variable_scope('Branch_2'):
        branch_2 = slim.conv2d(inputs, 384, [1, 1], scope='Conv2d_0a_1x1')
        branch_2 = slim.conv2d(branch_2, 448, [3, 1], scope='Conv2d_0b_3x1')
        branch_2 = slim.conv2d(branch_2, 512, [1, 3], scope='Conv2d_0c_1x3')
        branch_2 = tf.concat([
            slim.conv2d(branch_2, 256, [1, 3], scope='Conv2d_0d_1x3'),
            slim.conv2d(branch_2, 256, [3, 1], scope='Conv2d_0e_3x1')], axis=3)
      with tf.variable_scope('Branch_3'):
        branch_3 = slim.avg_pool2d(inputs, [3, 3], scope='AvgPool_0a_3x3')
        branch_3 = slim.conv2d(branch_3, 256, [1, 1], scope='Conv2d_0b_1x1')
      net = tf.concat([branch_0, branch_1, branch_2, branch_3], axis=3)
      return attention.apply_attention(attention_module, net)


def _names(prefix, letters):
  return tuple(prefix + c for c in letters)


# The stages after the stem, in order: (block function, block scopes =
# end points, whether the block takes attention). Only the Inception-A/B/C
# blocks are SE-Inception modules; the reduction blocks are not.
_STAGES = (
    (block_inception_a, _names('Mixed_5', 'bcde'), True),      # 35x35x384
    (block_reduction_a, ('Mixed_6a',), False),                 # 17x17x1024
    (block_inception_b, _names('Mixed_6', 'bcdefgh'), True),   # 17x17x1024
    (block_reduction_b, ('Mixed_7a',), False),                 # 8x8x1536
    (block_inception_c, _names('Mixed_7', 'bcd'), True),       # 8x8x1536
)

_END_POINTS = (('Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'Mixed_3a',
                'Mixed_4a', 'Mixed_5a') +
               sum((scopes for _, scopes, _ in _STAGES), ()))


def inception_v4_base(inputs, final_endpoint='Mixed_7d', scope=None,
                      attention_module=None):
  """Builds Inception-v4 from the input up to `final_endpoint`.

  Args:
    inputs: 4-D tensor `[batch, height, width, 3]`, 299 x 299 by default.
    final_endpoint: the last end point to build, one of `_END_POINTS`
      ('Conv2d_1a_3x3' ... 'Mixed_7d').
    scope: variable scope, default 'InceptionV4'.
    attention_module: None or an `attention.Attention`; applied in
      every Inception-A/B/C block.

  Returns:
    `(net, end_points)`: the output of `final_endpoint` and an ordered dict
    of every end point built.

  Raises:
    ValueError: if `final_endpoint` is not one of `_END_POINTS`.
  """
  if final_endpoint not in _END_POINTS:
    raise ValueError('Unknown final_endpoint %r; expected one of: %s' %
                     (final_endpoint, ', '.join(_END_POINTS)))
  end_points = {}

  def add_and_check_final(name, net):
    end_points[name] = net
    return name == final_endpoint

  with tf.variable_scope(scope, 'InceptionV4', [inputs]):
    with slim.arg_scope(_LAYERS, **_SAME_STRIDE_1):
      # Stem ([1], Fig. 3). 299 x 299 x 3
      net = slim.conv2d(inputs, 32, [3, 3], stride=2, padding='VALID',
                        scope='Conv2d_1a_3x3')
      if add_and_check_final('Conv2d_1a_3x3', net): return net, end_points
      # 149 x 149 x 32
      net = slim.conv2d(net, 32, [3, 3], padding='VALID',
                        scope='Conv2d_2a_3x3')
      if add_and_check_final('Conv2d_2a_3x3', net): return net, end_points
      # 147 x 147 x 32
      net = slim.conv2d(net, 64, [3, 3], scope='Conv2d_2b_3x3')
      if add_and_check_final('Conv2d_2b_3x3', net): return net, end_points
      # 147 x 147 x 64
      with tf.variable_scope('Mixed_3a'):
        with tf.variable_scope('Branch_0'):
          branch_0 = slim.max_pool2d(net, [3, 3], stride=2, padding='VALID',
                                     scope='MaxPool_0a_3x3')
        with tf.variable_scope('Branch_1'):
          branch_1 = slim.conv2d(net, 96, [3, 3], stride=2, padding='VALID',
                                 scope='Conv2d_0a_3x3')
        net = tf.concat([branch_0, branch_1], axis=3)
      if add_and_check_final('Mixed_3a', net): return net, end_points
      # 73 x 73 x 160
      with tf.variable_scope('Mixed_4a'):
        with tf.variable_scope('Branch_0'):
          branch_0 = slim.conv2d(net, 64, [1, 1], scope='Conv2d_0a_1x1')
          branch_0 = slim.conv2d(branch_0, 96, [3, 3], padding='VALID',
                                 scope='Conv2d_1a_3x3')
        with tf.variable_scope('Branch_1'):
          branch_1 = slim.conv2d(net, 64, [1, 1], scope='Conv2d_0a_1x1')
          branch_1 = slim.conv2d(branch_1, 64, [1, 7], scope='Conv2d_0b_1x7')
          branch_1 = slim.conv2d(branch_1, 64, [7, 1], scope='Conv2d_0c_7x1')
          branch_1 = slim.conv2d(branch_1, 96, [3, 3], padding='VALID',
                                 scope='Conv2d_1a_3x3')
        net = tf.concat([branch_0, branch_1], axis=3)
      if add_and_check_final('Mixed_4a', net): return net, end_points
      # 71 x 71 x 192
      with tf.variable_scope('Mixed_5a'):
        with tf.variable_scope('Branch_0'):
          branch_0 = slim.conv2d(net, 192, [3, 3], stride=2, padding='VALID',
                                 scope='Conv2d_1a_3x3')
        with tf.variable_scope('Branch_1'):
          branch_1 = slim.max_pool2d(net, [3, 3], stride=2, padding='VALID',
                                     scope='MaxPool_1a_3x3')
        net = tf.concat([branch_0, branch_1], axis=3)
      if add_and_check_final('Mixed_5a', net): return net, end_points
      # 35 x 35 x 384 -> 4 x Inception-A -> Reduction-A -> 17 x 17 x 1024
      # -> 7 x Inception-B -> Reduction-B -> 8 x 8 x 1536 -> 3 x Inception-C
      attention_kwargs = dict(attention_module=attention_module)
      for block_fn, block_scopes, takes_attention in _STAGES:
        for block_scope in block_scopes:
          net = block_fn(net, block_scope,
                         **(attention_kwargs if takes_attention else {}))
          if add_and_check_final(block_scope, net): return net, end_points
  # Unreachable: every name in _END_POINTS returns above.
  raise AssertionError('final_endpoint %r was not built' % final_endpoint)


def inception_v4(inputs, num_classes=1001, is_training=True,
                 dropout_keep_prob=0.8,
                 reuse=None,
                 scope='InceptionV4',
                 create_aux_logits=True,
                 attention_module=None):
  """Inception-v4 classifier [1], with optional SE blocks [2].

  Args:
    inputs: 4-D tensor `[batch, height, width, 3]`, 299 x 299 by default.
    num_classes: number of classes. If 0 or None, the logits layer (and the
      auxiliary head) are omitted and the pooled features are returned.
    is_training: whether batch norm and dropout run in training mode.
    dropout_keep_prob: fraction of the pooled features kept by dropout.
    reuse: whether to reuse the network's variables (`scope` must be given).
    scope: variable scope.
    create_aux_logits: whether to build the auxiliary classifier on
      Mixed_6h (end point 'AuxLogits').
    attention_module: None or an `attention.Attention`; see the
      module docstring for where it is applied.

  Returns:
    `(logits, end_points)`: logits `[batch, num_classes]` (or the pooled
    features `[batch, 1, 1, 1536]` if `num_classes` is 0/None) and an ordered
    dict of end points.

  Raises:
    ValueError: for an unknown attention module or invalid reduction ratio.
  """
  with tf.variable_scope(scope, 'InceptionV4', [inputs], reuse=reuse) as scope:
    with slim.arg_scope([slim.batch_norm, slim.dropout],
                        is_training=is_training):
      net, end_points = inception_v4_base(
          inputs, scope=scope, attention_module=attention_module)
      with slim.arg_scope(_LAYERS, **_SAME_STRIDE_1):
        if create_aux_logits and num_classes:
          with tf.variable_scope('AuxLogits'):
            # 17 x 17 x 1024
            aux = slim.avg_pool2d(end_points['Mixed_6h'], [5, 5], stride=3,
                                  padding='VALID', scope='AvgPool_1a_5x5')
            # 5 x 5 x 1024
            aux = slim.conv2d(aux, 128, [1, 1], scope='Conv2d_1b_1x1')
            aux = slim.conv2d(aux, 768, aux.get_shape()[1:3],
                              padding='VALID', scope='Conv2d_2a')
            # 1 x 1 x 768
            aux = slim.flatten(aux)
            aux = slim.fully_connected(aux, num_classes, activation_fn=None,
                                       scope='Aux_logits')
            end_points['AuxLogits'] = aux

        with tf.variable_scope('Logits'):
          # 8 x 8 x 1536
          kernel_size = net.get_shape()[1:3]
          if kernel_size.is_fully_defined():
            net = slim.avg_pool2d(net, kernel_size, padding='VALID',
                                  scope='AvgPool_1a')
          else:
            net = tf.reduce_mean(net, [1, 2], keepdims=True,
                                 name='global_pool')
          end_points['global_pool'] = net
          if not num_classes:
            return net, end_points
          # 1 x 1 x 1536
          net = slim.dropout(net, dropout_keep_prob, scope='Dropout_1b')
          net = slim.flatten(net, scope='PreLogitsFlatten')
          end_points['PreLogitsFlatten'] = net
          # 1536
          logits = slim.fully_connected(net, num_classes, activation_fn=None,
                                        scope='Logits')
          end_points['Logits'] = logits
          end_points['Predictions'] = tf.nn.softmax(logits,
                                                    name='Predictions')
  return logits, end_points


inception_v4.default_image_size = 299

inception_v4_arg_scope = inception_utils.inception_arg_scope
