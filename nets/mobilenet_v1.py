"""MobileNet v1 [1]: a stack of depthwise separable convolutions.

The body is described as data, `MOBILENET_V1_CONV_DEFS`: one 3x3 standard
convolution followed by 13 depthwise separable layers (3x3 depthwise conv +
batch norm + ReLU6, then 1x1 pointwise conv + batch norm + ReLU6). One builder,
`mobilenet_v1`, reads the table; the width variants of the paper (Sec. 3.3,
"width multiplier" alpha) are the same builder with another `depth_multiplier`,
so `mobilenet_v1_075`, `mobilenet_v1_050` and `mobilenet_v1_025` create the
same variable names as `mobilenet_v1` with fewer channels. Layer widths are
`max(int(depth * depth_multiplier), min_depth)`.

Variable and end-point names are those of TF-Slim's `mobilenet_v1.py`, so its
published ImageNet checkpoints (1001 classes) load unchanged:
`MobilenetV1/Conv2d_0`, `MobilenetV1/Conv2d_<i>_depthwise`,
`MobilenetV1/Conv2d_<i>_pointwise` (i = 1..13) and
`MobilenetV1/Logits/Conv2d_1c_1x1`.

MobileNet v1 takes no attention module (`nets_factory` raises for it).

References:
  [1] Howard et al., MobileNets: Efficient Convolutional Neural Networks for
      Mobile Vision Applications, arXiv:1704.04861.

Typical use:

    import tf_slim as slim
    from nets import mobilenet_v1

    with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope()):
      logits, end_points = mobilenet_v1.mobilenet_v1_050(
          images, num_classes=1001, is_training=True)   # [batch, 224, 224, 3]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
import functools

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import pooled_logits
from nets.mobilenet import conv_blocks

# One row of the body, as TF-Slim's `conv_defs` rows: `Conv` is a standard
# k x k convolution, `DepthSepConv` a k x k depthwise + 1x1 pointwise pair;
# `depth` is the number of output channels before the depth multiplier.
class Conv(collections.namedtuple('Conv', ['kernel', 'stride', 'depth'])):
  """A standard convolution row of a MobileNet v1 table."""
  kind = 'conv'


class DepthSepConv(collections.namedtuple('DepthSepConv',
                                          ['kernel', 'stride', 'depth'])):
  """A depthwise separable row (3x3 depthwise + 1x1 pointwise)."""
  kind = 'separable'


def _separable(stride, depth):
  return DepthSepConv(kernel=[3, 3], stride=stride, depth=depth)


# Table 1 of [1]. Layer i of the table is scoped Conv2d_<i> (conv) or
# Conv2d_<i>_depthwise / Conv2d_<i>_pointwise (separable).
MOBILENET_V1_CONV_DEFS = (
    Conv(kernel=[3, 3], stride=2, depth=32),  # 112 x 112 x 32
    _separable(1, 64),                        # 112 x 112 x 64
    _separable(2, 128),
    _separable(1, 128),                       # 56 x 56 x 128
    _separable(2, 256),
    _separable(1, 256),                       # 28 x 28 x 256
    _separable(2, 512),
    _separable(1, 512),
    _separable(1, 512),
    _separable(1, 512),
    _separable(1, 512),
    _separable(1, 512),                       # 14 x 14 x 512
    _separable(2, 1024),
    _separable(1, 1024),                      # 7 x 7 x 1024
)
# TF-Slim's name of the same table (a list there; callers copy and edit it).
MOBILENETV1_CONV_DEFS = list(MOBILENET_V1_CONV_DEFS)

_KINDS = ('conv', 'separable')


# TF-Slim's name; shared with MobileNet v2/v3.
_fixed_padding = conv_blocks.fixed_padding


def _layer_names(index, conv_def):
  """End-point names a table row creates, in order."""
  if conv_def.kind == 'conv':
    return ['Conv2d_%d' % index]
  return ['Conv2d_%d_depthwise' % index, 'Conv2d_%d_pointwise' % index]


def mobilenet_v1_base(inputs,
                      final_endpoint='Conv2d_13_pointwise',
                      min_depth=8,
                      depth_multiplier=1.0,
                      conv_defs=None,
                      output_stride=None,
                      use_explicit_padding=False,
                      scope=None):
  """MobileNet v1 body, from the input to `final_endpoint` [1].

  Args:
    inputs: `[batch, height, width, channels]` images.
    final_endpoint: name of the last layer built, e.g. 'Conv2d_0' or
      'Conv2d_13_pointwise' (default, the full body).
    min_depth: lower bound on every layer's width after the multiplier.
    depth_multiplier: width multiplier alpha of [1] (> 0).
    conv_defs: a list of `Conv` / `DepthSepConv` rows like
      `MOBILENET_V1_CONV_DEFS` (the default).
    output_stride: None for the classification stride 32, or 1 or an even
      number: the ratio of input to output resolution, reached by turning
      later strides into atrous rates.
    use_explicit_padding: pad explicitly and use VALID convolutions, so the
      output size does not depend on SAME's padding split.
    scope: variable scope; default 'MobilenetV1'.

  Returns:
    net: the `final_endpoint` activation; for the full body at 224 x 224
      input, `[batch, 7, 7, 1024 * depth_multiplier]`.
    end_points: ordered dict from layer name to activation.

  Raises:
    ValueError: if `depth_multiplier` <= 0, `output_stride` is not None, 1 or
      even, `final_endpoint` is not a layer of the table, or a table row is
      neither a `Conv` nor a `DepthSepConv`.
  """
  if depth_multiplier <= 0:
    raise ValueError('depth_multiplier must be > 0, got %r' %
                     (depth_multiplier,))
  if output_stride is not None and (output_stride < 1 or
                                    (output_stride > 1 and output_stride % 2)):
    raise ValueError('output_stride must be None, 1 or an even number, got %r'
                     % (output_stride,))
  conv_defs = MOBILENET_V1_CONV_DEFS if conv_defs is None else conv_defs
  valid_endpoints = []
  for i, conv_def in enumerate(conv_defs):
    if getattr(conv_def, 'kind', None) not in _KINDS:
      raise ValueError('Unknown convolution type %r for layer %d; expected '
                       'Conv or DepthSepConv' % (conv_def, i))
    valid_endpoints.extend(_layer_names(i, conv_def))
  if final_endpoint not in valid_endpoints:
    raise ValueError('Unknown final_endpoint %r; expected one of: %s' %
                     (final_endpoint, ', '.join(valid_endpoints)))

  def depth(d):
    return max(int(d * depth_multiplier), min_depth)

  padding = 'VALID' if use_explicit_padding else 'SAME'
  end_points = collections.OrderedDict()
  # `current_stride` is the input-to-activation resolution ratio so far; once
  # it reaches `output_stride`, later strides become atrous rates.
  current_stride = 1
  rate = 1
  net = inputs
  with tf.variable_scope(scope, 'MobilenetV1', [inputs]), \
      slim.arg_scope([slim.conv2d, slim.separable_conv2d], padding=padding):
    for i, conv_def in enumerate(conv_defs):
      if output_stride is not None and current_stride == output_stride:
        layer_stride, layer_rate = 1, rate
        rate *= conv_def.stride
      else:
        layer_stride, layer_rate = conv_def.stride, 1
        current_stride *= conv_def.stride
      if use_explicit_padding:
        net = _fixed_padding(net, conv_def.kernel, layer_rate)
      names = _layer_names(i, conv_def)
      if conv_def.kind == 'conv':
        outputs = [slim.conv2d(net, depth(conv_def.depth), conv_def.kernel,
                               stride=layer_stride, scope=names[0])]
      else:
        # num_outputs=None: depthwise only, with its own batch norm and ReLU6
        # (unlike a fused slim.separable_conv2d).
        dw = slim.separable_conv2d(net, None, conv_def.kernel,
                                   depth_multiplier=1, stride=layer_stride,
                                   rate=layer_rate, scope=names[0])
        pw = slim.conv2d(dw, depth(conv_def.depth), [1, 1], stride=1,
                         scope=names[1])
        outputs = [dw, pw]
      for name, output in zip(names, outputs):
        end_points[name] = output
        if name == final_endpoint:
          return output, end_points
      net = outputs[-1]
  raise AssertionError('unreachable: final_endpoint %r was validated' %
                       final_endpoint)


def mobilenet_v1(inputs,
                 num_classes=1000,
                 dropout_keep_prob=0.999,
                 is_training=True,
                 min_depth=8,
                 depth_multiplier=1.0,
                 conv_defs=None,
                 prediction_fn=slim.softmax,
                 spatial_squeeze=True,
                 reuse=None,
                 scope='MobilenetV1',
                 global_pool=False):
  """MobileNet v1 classifier [1].

  Body (`mobilenet_v1_base`), then average pooling (`AvgPool_1a`, a 7 x 7
  VALID pool, shrunk for small inputs, or a global mean if `global_pool`),
  dropout and a 1x1 convolution with biases to `num_classes` logits.

  Args:
    inputs: `[batch, height, width, 3]` images; 224 x 224 by default.
    num_classes: number of classes; 0 or None returns the pooled features
      `[batch, 1, 1, 1024 * depth_multiplier]` instead of logits.
    dropout_keep_prob: keep probability of the dropout before the logits.
    is_training: whether batch norm and dropout are in training mode.
    min_depth: lower bound on every layer's width.
    depth_multiplier: width multiplier alpha of [1] (> 0).
    conv_defs: body table; default `MOBILENET_V1_CONV_DEFS`.
    prediction_fn: maps logits to predictions (default softmax).
    spatial_squeeze: squeeze the logits to `[batch, num_classes]`.
    reuse: whether to reuse the variables (give `scope` too).
    scope: variable scope; default 'MobilenetV1'.
    global_pool: pool with a global mean (any input size) instead of the
      fixed 7 x 7 average pool.

  Returns:
    logits: `[batch, num_classes]` (or `[batch, 1, 1, num_classes]` without
      `spatial_squeeze`); the pooled features if `num_classes` is 0 or None.
    end_points: ordered dict: the body's layers, then 'AvgPool_1a' (or
      'global_pool'), 'Logits', 'Predictions'.

  Raises:
    ValueError: if `inputs` is not 4-D, or for invalid body arguments (see
      `mobilenet_v1_base`).
  """
  input_shape = inputs.get_shape().as_list()
  if len(input_shape) != 4:
    raise ValueError('mobilenet_v1 expects a 4-D input [batch, height, width, '
                     'channels], got shape %s' % (input_shape,))
  with tf.variable_scope(scope, 'MobilenetV1', [inputs], reuse=reuse) as sc:
    with slim.arg_scope([slim.batch_norm, slim.dropout],
                        is_training=is_training):
      net, end_points = mobilenet_v1_base(
          inputs, scope=sc, min_depth=min_depth,
          depth_multiplier=depth_multiplier, conv_defs=conv_defs)
      # 7 x 7 x 1024 at 224 x 224 input; Slim names no 'PreLogits' here.
      return pooled_logits.classifier(
          net, end_points, num_classes, pool_kernel=[7, 7],
          dropout_keep_prob=dropout_keep_prob, prediction_fn=prediction_fn,
          spatial_squeeze=spatial_squeeze, global_pool=global_pool,
          avg_pool_scope='AvgPool_1a', pre_logits=False)


mobilenet_v1.default_image_size = 224


def _width_variant(multiplier, name):
  """`mobilenet_v1` with another default `depth_multiplier`."""
  variant = functools.partial(mobilenet_v1, depth_multiplier=multiplier)
  functools.update_wrapper(variant, mobilenet_v1)
  variant.__name__ = name
  variant.default_image_size = mobilenet_v1.default_image_size
  return variant


mobilenet_v1_075 = _width_variant(0.75, 'mobilenet_v1_075')
mobilenet_v1_050 = _width_variant(0.50, 'mobilenet_v1_050')
mobilenet_v1_025 = _width_variant(0.25, 'mobilenet_v1_025')


def mobilenet_v1_arg_scope(is_training=True,
                           weight_decay=0.00004,
                           stddev=0.09,
                           regularize_depthwise=False,
                           batch_norm_decay=0.9997,
                           batch_norm_epsilon=0.001,
                           batch_norm_updates_collections=tf.GraphKeys
                           .UPDATE_OPS,
                           normalizer_fn=slim.batch_norm):
  """Layer defaults for MobileNet v1: ReLU6, batch norm, L2 on 1x1/3x3 convs.

  Args:
    is_training: batch norm mode; None leaves it to the builder's
      `is_training` (which sets it anyway).
    weight_decay: L2 coefficient on the standard and pointwise conv weights.
    stddev: standard deviation of the truncated-normal weight initializer.
    regularize_depthwise: also apply the L2 penalty to depthwise weights.
    batch_norm_decay: decay of the moving averages.
    batch_norm_epsilon: added to the variance before normalizing.
    batch_norm_updates_collections: collection of the moving-average updates.
    normalizer_fn: normalization after each convolution.

  Returns:
    An `arg_scope` for `mobilenet_v1`.
  """
  batch_norm_params = {
      'center': True,
      'scale': True,
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'updates_collections': batch_norm_updates_collections,
  }
  if is_training is not None:
    batch_norm_params['is_training'] = is_training
  regularizer = slim.l2_regularizer(weight_decay)
  depthwise_regularizer = regularizer if regularize_depthwise else None
  with slim.arg_scope(
      [slim.conv2d, slim.separable_conv2d],
      weights_initializer=tf.truncated_normal_initializer(stddev=stddev),
      activation_fn=tf.nn.relu6, normalizer_fn=normalizer_fn):
    with slim.arg_scope([slim.batch_norm], **batch_norm_params):
      with slim.arg_scope([slim.conv2d], weights_regularizer=regularizer):
        with slim.arg_scope([slim.separable_conv2d],
                            weights_regularizer=depthwise_regularizer) as sc:
          return sc
