"""Inception-ResNet-v2 [1], optionally with Squeeze-and-Excitation [2].

The network is a stem ending in Mixed_5b (35 x 35 x 320), 10 block35 units,
Reduction-A (Mixed_6a, 17 x 17 x 1088), 20 block17 units, Reduction-B
(Mixed_7a, 8 x 8 x 2080), 9 block8 units plus a final block8 without
activation, a 1x1 conv to 1536 channels, average pooling and a fully
connected classifier; an auxiliary classifier reads the last block17.

Attention: with `attention_module='se_block'`, every residual unit (10 block35,
20 block17, 10 block8 including the final one: 40 SE blocks) recalibrates its
residual branch after the linear up-projection conv (`Conv2d_1x1`) and before
`shortcut + scale * residual`, as SE-Inception-ResNet-v2 does ([2], Fig. 3).
The identity shortcut is never gated. SE variables live under the unit's
scope, e.g. `InceptionResnetV2/Repeat/block35_1/se/fc1/weights` and
`InceptionResnetV2/Block8/se/fc2/biases`; at r=16 they add 8,543,980
trainable parameters. With `attention_module=None` the variables, their order
and the end points are those of TF-Slim's `inception_resnet_v2`, so its
published ImageNet checkpoint (1001 classes) loads unchanged.

References:
  [1] Szegedy et al., Inception-v4, Inception-ResNet and the Impact of
      Residual Connections on Learning, arXiv:1602.07261.
  [2] Hu et al., Squeeze-and-Excitation Networks, arXiv:1709.01507.

Typical use:

    from nets import inception_resnet_v2 as irv2

    with slim.arg_scope(irv2.inception_resnet_v2_arg_scope()):
      logits, end_points = irv2.inception_resnet_v2(
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


def _residual_add(net, mixed, scale, activation_fn, attention_module):
  """Shared tail of the three units: up-projection, attention, scaled add.

  Args:
    net: the unit's input (the identity shortcut), `[batch, H, W, C]`.
    mixed: concatenated branch outputs, `[batch, H, W, C']`.
    scale: residual scaling factor ([1], Sec. 3.3).
    activation_fn: activation after the addition, or None.
    attention_module: None, or an `attention.Attention` (or bare name).

  Returns:
    `activation_fn(net + scale * attention(up(mixed)))`, `[batch, H, W, C]`.
  """
  # Linear 1x1 conv back to the input width (no BN, no activation).
  up = slim.conv2d(mixed, net.get_shape()[3], 1, normalizer_fn=None,
                   activation_fn=None, scope='Conv2d_1x1')
  # The one attention point of the unit: on the residual branch only.
  up = attention.apply_attention(attention_module, up)
  scaled_up = up * scale
  if activation_fn == tf.nn.relu6:
    # A bounded residual keeps the relu6 sum in its trained range.
    scaled_up = tf.clip_by_value(scaled_up, -6.0, 6.0)
  net += scaled_up
  if activation_fn:
    net = activation_fn(net)
  return net


def block35(net, scale=1.0, activation_fn=tf.nn.relu, scope=None, reuse=None,
            attention_module=None):
  """35 x 35 residual unit (Inception-ResNet-A, [1] Fig. 16).

  Attention, if on, gates the up-projected residual before the addition.

  Args:
    net: 4-D tensor `[batch, 35, 35, 320]`.
    scale: residual scaling factor (0.17 in the network).
    activation_fn: activation after the addition, or None.
    scope: variable scope, default 'Block35'.
    reuse: whether to reuse the unit's variables.
    attention_module: None, or an `attention.Attention` (or bare name).

  Returns:
    Tensor of the shape of `net`.
  """
  with tf.variable_scope(scope, 'Block35', [net], reuse=reuse):
    with tf.variable_scope('Branch_0'):
      tower_0 = slim.conv2d(net, 32, 1, scope='Conv2d_1x1')
    with tf.variable_scope('Branch_1'):
      tower_1 = slim.conv2d(net, 32, 1, scope='Conv2d_0a_1x1')
      tower_1 = slim.conv2d(tower_1, 32, 3, scope='Conv2d_0b_3x3')
    with tf.variable_scope('Branch_2'):
      tower_2 = slim.conv2d(net, 32, 1, scope='Conv2d_0a_1x1')
      tower_2 = slim.conv2d(tower_2, 48, 3, scope='Conv2d_0b_3x3')
      tower_2 = slim.conv2d(tower_2, 64, 3, scope='Conv2d_0c_3x3')
    mixed = tf.concat([tower_0, tower_1, tower_2], axis=3)
    return _residual_add(net, mixed, scale, activation_fn, attention_module)


def block17(net, scale=1.0, activation_fn=tf.nn.relu, scope=None, reuse=None,
            attention_module=None):
  """17 x 17 residual unit (Inception-ResNet-B, [1] Fig. 17).

  Attention, if on, gates the up-projected residual before the addition.

  Args:
    net: 4-D tensor `[batch, 17, 17, 1088]`.
    scale: residual scaling factor (0.10 in the network).
    activation_fn: activation after the addition, or None.
    scope: variable scope, default 'Block17'.
    reuse: whether to reuse the unit's variables.
    attention_module: None, or an `attention.Attention` (or bare name).

  Returns:
    Tensor of the shape of `net`.
  """
  with tf.variable_scope(scope, 'Block17', [net], reuse=reuse):
    with tf.variable_scope('Branch_0'):
      tower_0 = slim.conv2d(net, 192, 1, scope='Conv2d_1x1')
    with tf.variable_scope('Branch_1'):
      tower_1 = slim.conv2d(net, 128, 1, scope='Conv2d_0a_1x1')
      tower_1 = slim.conv2d(tower_1, 160, [1, 7], scope='Conv2d_0b_1x7')
      tower_1 = slim.conv2d(tower_1, 192, [7, 1], scope='Conv2d_0c_7x1')
    mixed = tf.concat([tower_0, tower_1], axis=3)
    return _residual_add(net, mixed, scale, activation_fn, attention_module)


def block8(net, scale=1.0, activation_fn=tf.nn.relu, scope=None, reuse=None,
           attention_module=None):
  """8 x 8 residual unit (Inception-ResNet-C, [1] Fig. 19).

  Attention, if on, gates the up-projected residual before the addition.

  Args:
    net: 4-D tensor `[batch, 8, 8, 2080]`.
    scale: residual scaling factor (0.20 in the network, 1.0 for the last).
    activation_fn: activation after the addition, or None.
    scope: variable scope, default 'Block8'.
    reuse: whether to reuse the unit's variables.
    attention_module: None, or an `attention.Attention` (or bare name).

  Returns:
    Tensor of the shape of `net`.
  """
  with tf.variable_scope(scope, 'Block8', [net], reuse=reuse):
    with tf.variable_scope('Branch_0'):
      tower_0 = slim.conv2d(net, 192, 1, scope='Conv2d_1x1')
    with tf.variable_scope('Branch_1'):
      tower_1 = slim.conv2d(net, 192, 1, scope='Conv2d_0a_1x1')
      tower_1 = slim.conv2d(tower_1, 224, [1, 3], scope='Conv2d_0b_1x3')
      tower_1 = slim.conv2d(tower_1, 256, [3, 1], scope='Conv2d_0c_3x1')
    mixed = tf.concat([tower_0, tower_1], axis=3)
    return _residual_add(net, mixed, scale, activation_fn, attention_module)


_END_POINTS = ('Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3',
               'MaxPool_3a_3x3', 'Conv2d_3b_1x1', 'Conv2d_4a_3x3',
               'MaxPool_5a_3x3', 'Mixed_5b', 'Mixed_6a', 'PreAuxLogits',
               'Mixed_7a', 'Conv2d_7b_1x1')


def inception_resnet_v2_base(inputs,
                             final_endpoint='Conv2d_7b_1x1',
                             output_stride=16,
                             align_feature_maps=False,
                             scope=None,
                             activation_fn=tf.nn.relu,
                             attention_module=None):
  """Builds Inception-ResNet-v2 from the input up to `final_endpoint`.

  Args:
    inputs: 4-D tensor `[batch, height, width, channels]`.
    final_endpoint: the last end point to build, one of `_END_POINTS`.
    output_stride: 16 (default) or 8; 8 uses atrous block17 units and is
      supported up to 'PreAuxLogits' only.
    align_feature_maps: if True, every VALID padding becomes SAME so feature
      maps stay aligned with the input (used for detection).
    scope: variable scope, default 'InceptionResnetV2'.
    activation_fn: activation after each residual addition.
    attention_module: None or an `attention.Attention`; applied in
      every residual unit.

  Returns:
    `(net, end_points)`: the output of `final_endpoint` and an ordered dict
    of the end points built.

  Raises:
    ValueError: if `final_endpoint` is unknown, `output_stride` is not 8 or
      16, or `output_stride` is 8 and `final_endpoint` lies after
      'PreAuxLogits'.
  """
  if output_stride not in (8, 16):
    raise ValueError('output_stride must be 8 or 16, got %r' % (output_stride,))
  if final_endpoint not in _END_POINTS:
    raise ValueError('Unknown final_endpoint %r; expected one of: %s' %
                     (final_endpoint, ', '.join(_END_POINTS)))
  if (output_stride == 8 and
      _END_POINTS.index(final_endpoint) > _END_POINTS.index('PreAuxLogits')):
    raise ValueError('output_stride=8 is supported up to PreAuxLogits only, '
                     'got final_endpoint %r' % (final_endpoint,))
  padding = 'SAME' if align_feature_maps else 'VALID'
  unit_kwargs = dict(activation_fn=activation_fn,
                     attention_module=attention_module)
  end_points = {}

  def add_and_check_final(name, net):
    end_points[name] = net
    return name == final_endpoint

  with tf.variable_scope(scope, 'InceptionResnetV2', [inputs]):
    with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d],
                        stride=1, padding='SAME'):
      # Stem. 299 x 299 x 3
      net = slim.conv2d(inputs, 32, 3, stride=2, padding=padding,
                        scope='Conv2d_1a_3x3')
      if add_and_check_final('Conv2d_1a_3x3', net): return net, end_points
      # 149 x 149 x 32
      net = slim.conv2d(net, 32, 3, padding=padding, scope='Conv2d_2a_3x3')
      if add_and_check_final('Conv2d_2a_3x3', net): return net, end_points
      # 147 x 147 x 32
      net = slim.conv2d(net, 64, 3, scope='Conv2d_2b_3x3')
      if add_and_check_final('Conv2d_2b_3x3', net): return net, end_points
      # 147 x 147 x 64
      net = slim.max_pool2d(net, 3, stride=2, padding=padding,
                            scope='MaxPool_3a_3x3')
      if add_and_check_final('MaxPool_3a_3x3', net): return net, end_points
      # 73 x 73 x 64
      net = slim.conv2d(net, 80, 1, padding=padding, scope='Conv2d_3b_1x1')
      if add_and_check_final('Conv2d_3b_1x1', net): return net, end_points
      # 73 x 73 x 80
      net = slim.conv2d(net, 192, 3, padding=padding, scope='Conv2d_4a_3x3')
      if add_and_check_final('Conv2d_4a_3x3', net): return net, end_points
      # 71 x 71 x 192
      net = slim.max_pool2d(net, 3, stride=2, padding=padding,
                            scope='MaxPool_5a_3x3')
      if add_and_check_final('MaxPool_5a_3x3', net): return net, end_points
      # 35 x 35 x 192
      with tf.variable_scope('Mixed_5b'):
        with tf.variable_scope('Branch_0'):
          tower_0 = slim.conv2d(net, 96, 1, scope='Conv2d_1x1')
        with tf.variable_scope('Branch_1'):
          tower_1 = slim.conv2d(net, 48, 1, scope='Conv2d_0a_1x1')
          tower_1 = slim.conv2d(tower_1, 64, 5, scope='Conv2d_0b_5x5')
        with tf.variable_scope('Branch_2'):
          tower_2 = slim.conv2d(net, 64, 1, scope='Conv2d_0a_1x1')
          tower_2 = slim.conv2d(tower_2, 96, 3, scope='Conv2d_0b_3x3')
          tower_2 = slim.conv2d(tower_2, 96, 3, scope='Conv2d_0c_3x3')
        with tf.variable_scope('Branch_3'):
          tower_3 = slim.avg_pool2d(net, 3, stride=1, padding='SAME',
                                    scope='AvgPool_0a_3x3')
          tower_3 = slim.conv2d(tower_3, 64, 1, scope='Conv2d_0b_1x1')
        net = tf.concat([tower_0, tower_1, tower_2, tower_3], axis=3)
      if add_and_check_final('Mixed_5b', net): return net, end_points
      # 35 x 35 x 320: 10 x block35 (scopes Repeat/block35_1..10)
      net = slim.repeat(net, 10, block35, scale=0.17, **unit_kwargs)

      # 17 x 17 x 1088 (33 x 33 x 1088 with output_stride 8)
      use_atrous = output_stride == 8
      reduction_stride = 1 if use_atrous else 2
      with tf.variable_scope('Mixed_6a'):
        with tf.variable_scope('Branch_0'):
          tower_0 = slim.conv2d(net, 384, 3, stride=reduction_stride,
                                padding=padding, scope='Conv2d_1a_3x3')
        with tf.variable_scope('Branch_1'):
          tower_1 = slim.conv2d(net, 256, 1, scope='Conv2d_0a_1x1')
          tower_1 = slim.conv2d(tower_1, 256, 3, scope='Conv2d_0b_3x3')
          tower_1 = slim.conv2d(tower_1, 384, 3, stride=reduction_stride,
                                padding=padding, scope='Conv2d_1a_3x3')
        with tf.variable_scope('Branch_2'):
          tower_2 = slim.max_pool2d(net, 3, stride=reduction_stride,
                                    padding=padding, scope='MaxPool_1a_3x3')
        net = tf.concat([tower_0, tower_1, tower_2], axis=3)
      if add_and_check_final('Mixed_6a', net): return net, end_points

      # 17 x 17 x 1088: 20 x block17 (scopes Repeat_1/block17_1..20)
      with slim.arg_scope([slim.conv2d], rate=2 if use_atrous else 1):
        net = slim.repeat(net, 20, block17, scale=0.10, **unit_kwargs)
      if add_and_check_final('PreAuxLogits', net): return net, end_points

      # 17 x 17 x 1088 -> 8 x 8 x 2080
      with tf.variable_scope('Mixed_7a'):
        with tf.variable_scope('Branch_0'):
          tower_0 = slim.conv2d(net, 256, 1, scope='Conv2d_0a_1x1')
          tower_0 = slim.conv2d(tower_0, 384, 3, stride=2, padding=padding,
                                scope='Conv2d_1a_3x3')
        with tf.variable_scope('Branch_1'):
          tower_1 = slim.conv2d(net, 256, 1, scope='Conv2d_0a_1x1')
          tower_1 = slim.conv2d(tower_1, 288, 3, stride=2, padding=padding,
                                scope='Conv2d_1a_3x3')
        with tf.variable_scope('Branch_2'):
          tower_2 = slim.conv2d(net, 256, 1, scope='Conv2d_0a_1x1')
          tower_2 = slim.conv2d(tower_2, 288, 3, scope='Conv2d_0b_3x3')
          tower_2 = slim.conv2d(tower_2, 320, 3, stride=2, padding=padding,
                                scope='Conv2d_1a_3x3')
        with tf.variable_scope('Branch_3'):
          tower_3 = slim.max_pool2d(net, 3, stride=2, padding=padding,
                                    scope='MaxPool_1a_3x3')
        net = tf.concat([tower_0, tower_1, tower_2, tower_3], axis=3)
      if add_and_check_final('Mixed_7a', net): return net, end_points

      # 8 x 8 x 2080: 9 x block8 (Repeat_2/block8_1..9), then a last block8
      # with no activation and scale 1 (scope Block8).
      net = slim.repeat(net, 9, block8, scale=0.20, **unit_kwargs)
      net = block8(net, activation_fn=None, attention_module=attention_module)
      # 8 x 8 x 1536
      net = slim.conv2d(net, 1536, 1, scope='Conv2d_7b_1x1')
      if add_and_check_final('Conv2d_7b_1x1', net): return net, end_points
  # Unreachable: every name in _END_POINTS returns above.
  raise AssertionError('final_endpoint %r was not built' % final_endpoint)


def inception_resnet_v2(inputs, num_classes=1001, is_training=True,
                        dropout_keep_prob=0.8,
                        reuse=None,
                        scope='InceptionResnetV2',
                        create_aux_logits=True,
                        activation_fn=tf.nn.relu,
                        attention_module=None):
  """Inception-ResNet-v2 classifier [1], with optional SE blocks [2].

  Args:
    inputs: 4-D tensor `[batch, height, width, 3]`, 299 x 299 by default.
    num_classes: number of classes. If 0 or None, the logits layer (and the
      auxiliary head) are omitted and the pooled features are returned.
    is_training: whether batch norm and dropout run in training mode.
    dropout_keep_prob: fraction of the pooled features kept by dropout.
    reuse: whether to reuse the network's variables (`scope` must be given).
    scope: variable scope.
    create_aux_logits: whether to build the auxiliary classifier on
      PreAuxLogits (end point 'AuxLogits').
    activation_fn: activation after each residual addition.
    attention_module: None or an `attention.Attention`; see the
      module docstring for where it is applied.

  Returns:
    `(logits, end_points)`: logits `[batch, num_classes]` (or the pooled
    features `[batch, 1, 1, 1536]` if `num_classes` is 0/None) and an ordered
    dict of end points.

  Raises:
    ValueError: for an unknown attention module or invalid reduction ratio.
  """
  with tf.variable_scope(scope, 'InceptionResnetV2', [inputs],
                         reuse=reuse) as scope:
    with slim.arg_scope([slim.batch_norm, slim.dropout],
                        is_training=is_training):
      net, end_points = inception_resnet_v2_base(
          inputs, scope=scope, activation_fn=activation_fn,
          attention_module=attention_module)

      if create_aux_logits and num_classes:
        with tf.variable_scope('AuxLogits'):
          # 17 x 17 x 1088
          aux = slim.avg_pool2d(end_points['PreAuxLogits'], 5, stride=3,
                                padding='VALID', scope='Conv2d_1a_3x3')
          # 5 x 5 x 1088
          aux = slim.conv2d(aux, 128, 1, scope='Conv2d_1b_1x1')
          aux = slim.conv2d(aux, 768, aux.get_shape()[1:3], padding='VALID',
                            scope='Conv2d_2a_5x5')
          # 1 x 1 x 768
          aux = slim.flatten(aux)
          aux = slim.fully_connected(aux, num_classes, activation_fn=None,
                                     scope='Logits')
          end_points['AuxLogits'] = aux

      with tf.variable_scope('Logits'):
        # 8 x 8 x 1536
        kernel_size = net.get_shape()[1:3]
        if kernel_size.is_fully_defined():
          net = slim.avg_pool2d(net, kernel_size, padding='VALID',
                                scope='AvgPool_1a_8x8')
        else:
          net = tf.reduce_mean(net, [1, 2], keepdims=True, name='global_pool')
        end_points['global_pool'] = net
        if not num_classes:
          return net, end_points
        # 1 x 1 x 1536
        net = slim.flatten(net)
        net = slim.dropout(net, dropout_keep_prob, is_training=is_training,
                           scope='Dropout')
        end_points['PreLogitsFlatten'] = net
        # 1536
        logits = slim.fully_connected(net, num_classes, activation_fn=None,
                                      scope='Logits')
        end_points['Logits'] = logits
        end_points['Predictions'] = tf.nn.softmax(logits, name='Predictions')
  return logits, end_points


inception_resnet_v2.default_image_size = 299


def inception_resnet_v2_arg_scope(
    weight_decay=0.00004,
    batch_norm_decay=0.9997,
    batch_norm_epsilon=0.001,
    activation_fn=tf.nn.relu,
    batch_norm_updates_collections=tf.GraphKeys.UPDATE_OPS,
    batch_norm_scale=False):
  """Returns the arg_scope of Inception-ResNet-v2.

  Unlike `inception_utils.inception_arg_scope`, biases are regularized too
  (the up-projection convs and the classifiers have biases).

  Args:
    weight_decay: L2 coefficient for weights and biases of convs and fully
      connected layers.
    batch_norm_decay: decay of the batch norm moving averages.
    batch_norm_epsilon: added to the variance to avoid dividing by zero.
    activation_fn: activation of the convolutions.
    batch_norm_updates_collections: collection of the moving-average updates.
    batch_norm_scale: if True, batch norm learns a `gamma`; the published
      checkpoint was trained without it.

  Returns:
    An arg_scope for `slim.arg_scope(...)`.
  """
  with slim.arg_scope([slim.conv2d, slim.fully_connected],
                      weights_regularizer=slim.l2_regularizer(weight_decay),
                      biases_regularizer=slim.l2_regularizer(weight_decay)):
    batch_norm_params = {
        'decay': batch_norm_decay,
        'epsilon': batch_norm_epsilon,
        'updates_collections': batch_norm_updates_collections,
        'fused': None,  # fused kernel where the shapes allow it
        'scale': batch_norm_scale,
    }
    with slim.arg_scope([slim.conv2d], activation_fn=activation_fn,
                        normalizer_fn=slim.batch_norm,
                        normalizer_params=batch_norm_params) as scope:
      return scope
