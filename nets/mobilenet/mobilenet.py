"""The generic MobileNet builder: one function for every conv-def table.

A network is data, TF-Slim's conv-defs dict
`{'defaults': {...}, 'spec': [...]}` (optionally also `'overrides'`), which
callers copy and edit (`copy.deepcopy(mobilenet_v2.V2_DEF)`):

* `spec` is the list of layers, each an `Op(op, params, multiplier_func)`
  made by `op(fn, **params)`; `fn` is a layer function of `conv_blocks` (its
  contract is in that module's docstring) or a plain slim layer such as
  `slim.conv2d`. Layer i (from 1) is exported as end point `layer_<i>`, its
  intermediate tensors as `layer_<i>/<name>`.
* `defaults` (then `overrides`) map tuples of layer functions to
  `slim.arg_scope` defaults set while the table is built (activation, batch
  norm, expansion factor, ...).

Layers are scoped by kind in order, as TF-Slim's checkpoints expect: `Conv`,
`Conv_1`, ...; `expanded_conv`, `expanded_conv_1`, ... Each layer's
`multiplier_func(params, multiplier)` scales its widths; the default,
`depth_multiplier`, sets `num_outputs` to `make_divisible(n * multiplier, 8)`
(at least 8); expansion widths follow from the scaled inputs.

`mobilenet_v2.py` and `mobilenet_v3.py` hold the tables of [1], [2] and the
EdgeTPU model and the public builders; this module adds the classifier head
(global average pool, dropout, 1x1 conv logits) and `training_scope`.

References:
  [1] Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks,
      arXiv:1801.04381.
  [2] Howard et al., Searching for MobileNetV3, arXiv:1905.02244.
  [3] Wu and He, Group Normalization, arXiv:1803.08494.

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
import functools

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import attention
from nets.mobilenet import conv_blocks

# One layer of a table (TF-Slim's `_Op`): its function, its parameters, and
# `multiplier_func(params, multiplier)`, which scales the widths in `params`.
Op = collections.namedtuple('Op', ['op', 'params', 'multiplier_func'])
_Op = Op  # TF-Slim's name.


@slim.add_arg_scope
def depth_multiplier(output_params, multiplier, divisible_by=8, min_depth=8,
                     **unused_kwargs):
  """Scales `output_params['num_outputs']` in place (TF-Slim's function).

  Args:
    output_params: a layer's parameter dict; left alone without
      'num_outputs'.
    multiplier: the network's depth multiplier.
    divisible_by: the scaled width is a multiple of this.
    min_depth: lower bound on the scaled width.
    **unused_kwargs: ignored.
  """
  del unused_kwargs
  if 'num_outputs' not in output_params:
    return
  output_params['num_outputs'] = conv_blocks.make_divisible(
      output_params['num_outputs'] * multiplier, divisible_by, min_depth)


def _keep_depth(output_params, multiplier, **unused_kwargs):
  """A `multiplier_func` that keeps the layer's width."""
  del output_params, multiplier, unused_kwargs


def op(opfunc, multiplier_func=depth_multiplier, **params):
  """A table row: layer function `opfunc` called with `params`.

  As in TF-Slim, a `multiplier_transform` entry of `params` replaces
  `multiplier_func`; so does `multiplier_transorm`, the spelling TF-Slim's
  own `op` pops.
  """
  multiplier = params.pop('multiplier_transorm', multiplier_func)
  multiplier = params.pop('multiplier_transform', multiplier)
  return Op(opfunc, params, multiplier)


def unscaled(layer):
  """`layer` with its width kept whatever the depth multiplier."""
  return layer._replace(multiplier_func=_keep_depth)


@slim.add_arg_scope
def group_norm(inputs, groups=8, **kwargs):
  """`slim.group_norm`, 8 groups by default (TF-Slim's default for
  MobileNet): every MobileNet width is a multiple of 8."""
  return slim.group_norm(inputs, groups=groups, **kwargs)


# Default scopes of the plain slim layers a table may hold; our own layer
# functions carry a `default_scope` attribute.
_SLIM_SCOPES = {
    slim.conv2d: 'Conv',
    slim.separable_conv2d: 'SeparableConv2d',
    slim.max_pool2d: 'MaxPool2D',
    slim.avg_pool2d: 'AvgPool2D',
}


def _default_scope(fn):
  return getattr(fn, 'default_scope', None) or _SLIM_SCOPES.get(fn)


@contextlib.contextmanager
def _arg_scopes(defaults):
  """Enters `slim.arg_scope(fns, **kwargs)` for each `fns: kwargs` item."""
  items = defaults.items() if hasattr(defaults, 'items') else defaults
  with contextlib.ExitStack() as stack:
    for fns, kwargs in items:
      stack.enter_context(slim.arg_scope(list(fns), **kwargs))
    yield


def _layer_scopes(spec):
  """Scope names of the layers: 'Conv', 'Conv_1', 'expanded_conv', ..."""
  counts = collections.Counter()
  names = []
  for layer in spec:
    base = _default_scope(layer.op)
    if base is None:
      names.append(None)  # TF names it.
      continue
    names.append(base if not counts[base] else '%s_%d' % (base, counts[base]))
    counts[base] += 1
  return names


@slim.add_arg_scope
def mobilenet_base(inputs,
                   conv_defs,
                   multiplier=1.0,
                   final_endpoint=None,
                   output_stride=None,
                   use_explicit_padding=False,
                   scope=None,
                   is_training=False,
                   finegrain_classification_mode=False,
                   min_depth=None,
                   divisible_by=None,
                   use_groupnorm=False):
  """Builds the layers of `conv_defs` (no pooling, no logits).

  Args:
    inputs: `[batch, height, width, channels]`.
    conv_defs: a conv-defs dict `{'defaults': ..., 'spec': [Op, ...]}`.
    multiplier: depth multiplier (> 0) applied to every `num_outputs`.
    final_endpoint: stop after this layer, e.g. 'layer_5'; None builds all.
    output_stride: None, 1 or an even number: the largest input-to-output
      resolution ratio; later strides become atrous rates.
    finegrain_classification_mode: with `multiplier` < 1, keep the last
      layer at full width ([1], Sec. 6.1: better for ImageNet-type tasks).
    min_depth: lower bound on scaled widths; None keeps `depth_multiplier`'s
      (8 unless an arg_scope sets it).
    divisible_by: scaled widths are multiples of this; None as `min_depth`.
    is_training: batch norm mode; None leaves it to the caller's arg_scope.
    scope: variable scope; default 'Mobilenet'.
    use_explicit_padding: pad explicitly and use VALID convolutions, so the
      output size does not depend on SAME's padding split.
    use_groupnorm: normalize with group norm wherever the table uses batch
      norm (`group_norm`: 8 groups unless an arg_scope on it sets `groups`),
      for batches too small for batch statistics ([3]); variables are then
      `.../GroupNorm/{beta,gamma}`, so Slim's checkpoints do not apply.

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
  layer_names = ['layer_%d' % (i + 1) for i in range(len(conv_defs['spec']))]
  if final_endpoint is not None and final_endpoint not in layer_names:
    raise ValueError('Unknown final_endpoint %r; expected one of: %s' %
                     (final_endpoint, ', '.join(layer_names)))
  spec = list(conv_defs['spec'])
  if finegrain_classification_mode and multiplier < 1:
    spec[-1] = unscaled(spec[-1])

  end_points = collections.OrderedDict()
  inner_end_points = collections.OrderedDict()
  current_stride, rate = 1, 1
  net = inputs
  # Re-entering the caller's scope object would open a new name scope
  # ('MobilenetV2/MobilenetV2/...'); keep ops next to their variables.
  overrides = dict(conv_defs.get('overrides', {}))
  if use_explicit_padding:
    overrides[(slim.conv2d, slim.separable_conv2d)] = {'padding': 'VALID'}
  if use_groupnorm:
    overrides[(slim.conv2d, slim.fully_connected, slim.separable_conv2d,
               conv_blocks.expanded_conv)] = {'normalizer_fn': group_norm}
  depth_args = {key: value for key, value in (('min_depth', min_depth),
                                              ('divisible_by', divisible_by))
                if value is not None}
  bn_args = {} if is_training is None else {'is_training': is_training}
  with tf.variable_scope(scope, 'Mobilenet', [inputs]) as sc, \
      tf.name_scope(sc.original_name_scope), \
      slim.arg_scope([slim.batch_norm], **bn_args), \
      _arg_scopes(conv_defs.get('defaults', {})), \
      _arg_scopes(overrides):
    for name, layer_scope, layer in zip(layer_names, _layer_scopes(spec),
                                        spec):
      params = dict(layer.params)
      layer.multiplier_func(params, multiplier, **depth_args)
      stride = params.get('stride', 1)
      layer_rate = 1
      if output_stride is not None and current_stride == output_stride:
        params['stride'], layer_rate = 1, rate
        rate *= stride
      else:
        current_stride *= stride
      # As in TF-Slim: a rate only where it changes something (not 1x1).
      if layer_rate > 1 and tuple(params.get('kernel_size', ())) != (1, 1):
        params['rate'] = layer_rate
      if use_explicit_padding:
        if 'kernel_size' in params:
          net = conv_blocks.fixed_padding(net, params['kernel_size'],
                                          layer_rate)
        else:  # expanded_conv pads its own depthwise conv
          params['use_explicit_padding'] = True
      layer_end_points = {}
      extra = {}
      if layer_scope is not None:
        extra['scope'] = layer_scope
      if getattr(layer.op, 'default_scope', None):  # our layers report these
        extra['endpoints'] = layer_end_points
      net = layer.op(net, **dict(params, **extra))
      end_points[name] = net
      for key in ('expansion_output', 'depthwise_output', 'output'):
        if key in layer_end_points:
          inner_end_points['%s/%s' % (name, key)] = layer_end_points[key]
      if name == final_endpoint:
        break
  end_points.update(inner_end_points)
  return net, end_points


def wrapped_partial(func, *args, **kwargs):
  """TF-Slim's helper: `functools.partial` that keeps `func`'s name and doc."""
  partial_func = functools.partial(func, *args, **kwargs)
  functools.update_wrapper(partial_func, func)
  return partial_func


def global_pool(input_tensor, pool_op=tf.nn.avg_pool):
  """Pools over all of H and W: `[batch, H, W, C]` -> `[batch, 1, 1, C]`.

  Args:
    input_tensor: `[batch, height, width, channels]`.
    pool_op: a `tf.nn` pooling op taking `(value, ksize, strides, padding,
      name)`, e.g. `tf.nn.max_pool`; TF-Slim's default, average pooling.

  Returns:
    `[batch, 1, 1, channels]`.

  Raises:
    ValueError: for a `pool_op` other than average pooling on an input whose
      height or width is not static (TF 1's pooling ops need a static window).
  """
  height, width = input_tensor.get_shape().as_list()[1:3]
  if height is None or width is None:
    if pool_op is not tf.nn.avg_pool:
      raise ValueError('global_pool with pool_op=%s needs a static height and '
                       'width; got shape %s' % (
                           getattr(pool_op, '__name__', pool_op),
                           input_tensor.get_shape().as_list()))
    # The same mean, for a map whose size is only known at run time.
    return tf.reduce_mean(input_tensor, [1, 2], keepdims=True, name='AvgPool')
  return pool_op(input_tensor, ksize=[1, height, width, 1],
                 strides=[1, 1, 1, 1], padding='VALID', name='AvgPool')


@slim.add_arg_scope
def apply_activation(x, name=None, activation_fn=None):
  """`activation_fn(x, name=name)`, or `x` if `activation_fn` is None."""
  return activation_fn(x, name=name) if activation_fn else x


@slim.add_arg_scope
def mobilenet(inputs,
              num_classes=1001,
              prediction_fn=slim.softmax,
              reuse=None,
              scope='Mobilenet',
              base_only=False,
              is_training=False,
              attention_module=None,
              conv_defs=None,
              **base_args):
  """MobileNet classifier for a conv-def table.

  Table layers (`mobilenet_base`), then under `<scope>/Logits`: global
  average pool, dropout (keep probability from the arg_scope, 0.8 in
  `training_scope`) and a 1x1 conv `Conv2d_1c_1x1` with biases.

  Args:
    inputs: `[batch, height, width, 3]` images.
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
    conv_defs: a conv-defs dict (see `mobilenet_base`); required. A keyword
      argument, as in TF-Slim (whose `mobilenet` takes it in `**kwargs`).
    **base_args: passed to `mobilenet_base` (`multiplier`,
      `finegrain_classification_mode`, `output_stride`, `final_endpoint`,
      `min_depth`, `divisible_by`).

  Returns:
    logits: `[batch, num_classes]` (op `<scope>/Logits/output`).
    end_points: the base's end points, then 'global_pool', 'Logits',
      'Predictions'.

  Raises:
    ValueError: if `inputs` is not 4-D, `conv_defs` is missing, for an
      unknown attention module or invalid base arguments.
  """
  if conv_defs is None:
    raise ValueError('mobilenet.mobilenet needs conv_defs=<a conv-defs dict, '
                     'e.g. mobilenet_v2.V2_DEF>; got num_classes=%r and no '
                     'conv_defs' % (num_classes,))
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


def _set_args(fns, **kwargs):
  """`slim.arg_scope(fns, **kwargs)` without the None arguments: None means
  "leave the caller's value" (TF-Slim's `safe_arg_scope`)."""
  kwargs = {key: value for key, value in kwargs.items() if value is not None}
  return slim.arg_scope(fns, **kwargs) if kwargs else _arg_scopes({})


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
    is_training: default mode of the builders, batch norm and dropout; None
      leaves batch norm's and dropout's `is_training` to the caller's own
      arg_scope (TF-Slim's behaviour).
    weight_decay: L2 coefficient on `slim.conv2d` weights.
    stddev: initializer standard deviation; negative for Xavier.
    dropout_keep_prob: keep probability of the dropout before the logits
      (None: not set).
    bn_decay: decay of the batch norm moving averages (None: not set).

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
      _set_args([slim.batch_norm], is_training=is_training,
                 decay=bn_decay), \
      _set_args([slim.dropout], is_training=is_training,
                keep_prob=dropout_keep_prob), \
      slim.arg_scope([slim.conv2d],
                     weights_regularizer=slim.l2_regularizer(weight_decay)), \
      slim.arg_scope([slim.separable_conv2d], weights_regularizer=None) as sc:
    return sc
