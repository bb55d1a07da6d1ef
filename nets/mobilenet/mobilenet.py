"""The generic MobileNet builder: one function for every conv-def table.

A network is data, a `ConvDefs(defaults, spec)`:

* `spec` is the list of layers, each an `Op` made by `op(fn, **params)`,
  where `fn` is a layer function of `conv_blocks` (its contract is in that
  module's docstring). Layer i (from 1) is exported as end point
  `layer_<i>`, its intermediate tensors as `layer_<i>/<name>`.
* `defaults` are `slim.arg_scope` defaults for the layer functions while the
  table is built (activation, batch norm, expansion factor, ...).

Layers are scoped by kind in order, as TF-Slim's checkpoints expect: `Conv`,
`Conv_1`, ...; `expanded_conv`, `expanded_conv_1`, ... The depth multiplier
scales every `num_outputs` to `make_divisible(n * multiplier, 8)` (at least
8); expansion widths follow from the scaled inputs.

`mobilenet_v2.py` and `mobilenet_v3.py` hold the tables of [1], [2] and the
EdgeTPU model and the public builders; this module adds the classifier head
(global average pool, dropout, 1x1 conv logits) and `training_scope`.

References:
  [1] Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks,
      arXiv:1801.04381.
  [2] Howard et al., Searching for MobileNetV3, arXiv:1905.02244.

Typical use:

    from nets.mobilenet import mobilenet, mobilenet_v2

    with slim.arg_scope(mobilenet.training_scope(weight_decay=4e-5)):
      logits, end_points = mobilenet.mobilenet(
          images, conv_defs=mobilenet_v2.V2_DEF, num_classes=1001,
          scope='MobilenetV2')                  # images: [batch, 224, 224, 3]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
import contextlib

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import attention
from nets.mobilenet import conv_blocks

ConvDefs = collections.namedtuple('ConvDefs', ['defaults', 'spec'])

# One layer of a table: its function, its parameters, and whether the depth
# multiplier scales its `num_outputs`.
Op = collections.namedtuple('Op', ['fn', 'params', 'scale_depth'])


def op(fn, **params):
  """A table row: layer function `fn` called with `params`."""
  return Op(fn, params, True)


def unscaled(layer):
  """`layer` with its width kept whatever the depth multiplier."""
  return layer._replace(scale_depth=False)


@contextlib.contextmanager
def _arg_scopes(defaults):
  """Enters `slim.arg_scope(fns, **kwargs)` for each `(fns, kwargs)` pair."""
  with contextlib.ExitStack() as stack:
    for fns, kwargs in defaults:
      stack.enter_context(slim.arg_scope(list(fns), **kwargs))
    yield


def _layer_scopes(spec):
  """Scope names of the layers: 'Conv', 'Conv_1', 'expanded_conv', ..."""
  counts = collections.Counter()
  names = []
  for layer in spec:
    base = layer.fn.default_scope
    names.append(base if not counts[base] else '%s_%d' % (base, counts[base]))
    counts[base] += 1
  return names


@slim.add_arg_scope
def mobilenet_base(inputs,
                   conv_defs,
                   multiplier=1.0,
                   final_endpoint=None,
                   output_stride=None,
                   finegrain_classification_mode=False,
                   min_depth=8,
                   divisible_by=8,
                   is_training=False,
                   scope=None):
  """Builds the layers of `conv_defs` (no pooling, no logits).

  Args:
    inputs: `[batch, height, width, channels]`.
    conv_defs: a `ConvDefs` table.
    multiplier: depth multiplier (> 0) applied to every `num_outputs`.
    final_endpoint: stop after this layer, e.g. 'layer_5'; None builds all.
    output_stride: None, 1 or an even number: the largest input-to-output
      resolution ratio; later strides become atrous rates.
    finegrain_classification_mode: with `multiplier` < 1, keep the last
      layer at full width ([1], Sec. 6.1: better for ImageNet-type tasks).
    min_depth: lower bound on scaled widths.
    divisible_by: scaled widths are multiples of this.
    is_training: batch norm mode.
    scope: variable scope; default 'Mobilenet'.

  Returns:
    net: the last layer's activation.
    end_points: ordered dict: 'layer_1' ... 'layer_<n>' in order, then each
      layer's intermediate tensors as 'layer_<i>/<name>'.

  Raises:
    ValueError: for `multiplier` <= 0, an invalid `output_stride` or an
      unknown `final_endpoint`.
  """
  if multiplier <= 0:
    raise ValueError('depth multiplier must be > 0, got %r' % (multiplier,))
  if output_stride is not None and (output_stride < 1 or
                                    (output_stride > 1 and output_stride % 2)):
    raise ValueError('output_stride must be None, 1 or an even number, got %r'
                     % (output_stride,))
  layer_names = ['layer_%d' % (i + 1) for i in range(len(conv_defs.spec))]
  if final_endpoint is not None and final_endpoint not in layer_names:
    raise ValueError('Unknown final_endpoint %r; expected one of: %s' %
                     (final_endpoint, ', '.join(layer_names)))
  spec = list(conv_defs.spec)
  if finegrain_classification_mode and multiplier < 1:
    spec[-1] = unscaled(spec[-1])

  end_points = collections.OrderedDict()
  inner_end_points = collections.OrderedDict()
  current_stride, rate = 1, 1
  net = inputs
  # Re-entering the caller's scope object would open a new name scope
  # ('MobilenetV2/MobilenetV2/...'); keep ops next to their variables.
  with tf.variable_scope(scope, 'Mobilenet', [inputs]) as sc, \
      tf.name_scope(sc.original_name_scope), \
      slim.arg_scope([slim.batch_norm], is_training=is_training), \
      _arg_scopes(conv_defs.defaults):
    for name, layer_scope, layer in zip(layer_names, _layer_scopes(spec),
                                        spec):
      params = dict(layer.params)
      if layer.scale_depth and 'num_outputs' in params:
        params['num_outputs'] = conv_blocks.make_divisible(
            params['num_outputs'] * multiplier, divisible_by, min_depth)
      stride = params.get('stride', 1)
      if output_stride is not None and current_stride == output_stride:
        params['stride'], params['rate'] = 1, rate
        rate *= stride
      else:
        current_stride *= stride
      layer_end_points = {}
      net = layer.fn(net, scope=layer_scope, endpoints=layer_end_points,
                     **params)
      end_points[name] = net
      for key in ('expansion_output', 'depthwise_output', 'output'):
        if key in layer_end_points:
          inner_end_points['%s/%s' % (name, key)] = layer_end_points[key]
      if name == final_endpoint:
        break
  end_points.update(inner_end_points)
  return net, end_points


def global_pool(inputs):
  """Average over H and W: `[batch, H, W, C]` -> `[batch, 1, 1, C]`."""
  height, width = inputs.get_shape().as_list()[1:3]
  if height is None or width is None:
    return tf.reduce_mean(inputs, [1, 2], keepdims=True, name='AvgPool')
  return tf.nn.avg_pool(inputs, [1, height, width, 1], [1, 1, 1, 1],
                        padding='VALID', name='AvgPool')


@slim.add_arg_scope
def mobilenet(inputs,
              conv_defs,
              num_classes=1001,
              prediction_fn=slim.softmax,
              reuse=None,
              scope='Mobilenet',
              base_only=False,
              is_training=False,
              attention_module=None,
              **base_args):
  """MobileNet classifier for a conv-def table.

  Table layers (`mobilenet_base`), then under `<scope>/Logits`: global
  average pool, dropout (keep probability from the arg_scope, 0.8 in
  `training_scope`) and a 1x1 conv `Conv2d_1c_1x1` with biases.

  Args:
    inputs: `[batch, height, width, 3]` images.
    conv_defs: a `ConvDefs` table.
    num_classes: number of classes; 0 or None returns the pooled features
      `[batch, 1, 1, C]` instead of logits.
    prediction_fn: maps logits to predictions (default softmax).
    reuse: whether to reuse the variables (give `scope` too).
    scope: variable scope.
    base_only: return the table's last activation and end points only.
    is_training: batch norm and dropout mode (`training_scope` sets True).
    attention_module: None or an `attention.Attention` (or bare name),
      applied in every `expanded_conv` after its depthwise conv (see
      `conv_blocks`).
    **base_args: passed to `mobilenet_base` (`multiplier`,
      `finegrain_classification_mode`, `output_stride`, `final_endpoint`,
      `min_depth`, `divisible_by`).

  Returns:
    logits: `[batch, num_classes]` (op `<scope>/Logits/output`).
    end_points: the base's end points, then 'global_pool', 'Logits',
      'Predictions'.

  Raises:
    ValueError: if `inputs` is not 4-D, for an unknown attention module or
      invalid base arguments.
  """
  input_shape = inputs.get_shape().as_list()
  if len(input_shape) != 4:
    raise ValueError('MobileNet expects a 4-D input [batch, height, width, '
                     'channels], got shape %s' % (input_shape,))
  attention_module = attention.bind(attention_module)  # Fails early.
  with tf.variable_scope(scope, 'Mobilenet', [inputs], reuse=reuse) as sc, \
      slim.arg_scope([conv_blocks.expanded_conv],
                     attention_module=attention_module):
    inputs = tf.identity(inputs, 'input')
    net, end_points = mobilenet_base(inputs, conv_defs, scope=sc,
                                     is_training=is_training, **base_args)
    if base_only:
      return net, end_points
    net = tf.identity(net, name='embedding')
    with tf.variable_scope('Logits'):
      net = global_pool(net)
      end_points['global_pool'] = net  # [batch, 1, 1, C]
      if not num_classes:
        return net, end_points
      net = slim.dropout(net, scope='Dropout', is_training=is_training)
      logits = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                           normalizer_fn=None,
                           biases_initializer=tf.zeros_initializer(),
                           scope='Conv2d_1c_1x1')
      logits = tf.squeeze(logits, [1, 2])
      logits = tf.identity(logits, name='output')
    end_points['Logits'] = logits
    if prediction_fn:
      end_points['Predictions'] = prediction_fn(logits, 'Predictions')
  return logits, end_points


def training_scope(is_training=True,
                   weight_decay=0.00004,
                   stddev=0.09,
                   dropout_keep_prob=0.8,
                   bn_decay=0.997):
  """Layer defaults for training MobileNet v2/v3/EdgeTPU.

  Truncated-normal initializer, batch norm after every convolution, L2 on
  the standard convolutions only (not on depthwise weights), dropout before
  the logits.

  Args:
    is_training: default mode of the builders, batch norm and dropout.
    weight_decay: L2 coefficient on `slim.conv2d` weights.
    stddev: initializer standard deviation; negative for Xavier.
    dropout_keep_prob: keep probability of the dropout before the logits.
    bn_decay: decay of the batch norm moving averages.

  Returns:
    An `arg_scope`.
  """
  if stddev < 0:
    initializer = slim.initializers.xavier_initializer()
  else:
    initializer = tf.truncated_normal_initializer(stddev=stddev)
  with slim.arg_scope(
      [slim.conv2d, slim.fully_connected, slim.separable_conv2d],
      weights_initializer=initializer, normalizer_fn=slim.batch_norm), \
      slim.arg_scope([mobilenet_base, mobilenet], is_training=is_training), \
      slim.arg_scope([slim.batch_norm], is_training=is_training,
                     decay=bn_decay), \
      slim.arg_scope([slim.dropout], is_training=is_training,
                     keep_prob=dropout_keep_prob), \
      slim.arg_scope([slim.conv2d],
                     weights_regularizer=slim.l2_regularizer(weight_decay)), \
      slim.arg_scope([slim.separable_conv2d], weights_regularizer=None) as sc:
    return sc
