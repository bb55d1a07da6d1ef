"""Layers that the MobileNet v2/v3 tables stack, and their activations.

Every layer function here has the contract the table-driven builder in
`mobilenet.py` relies on:

    fn(inputs, scope=None, endpoints=None, stride=1, rate=1, **params) -> net

`inputs` and `net` are 4-D NHWC tensors. `scope` is the layer's variable
scope (the builder names layers 'Conv', 'Conv_1', 'expanded_conv', ...).
`endpoints`, if given, is a dict the layer adds named intermediate tensors
to (`expansion_output`, `depthwise_output`, `output`); the builder exports
them as `layer_<i>/<name>`. A layer with a `num_outputs` parameter has its
width scaled by the depth multiplier.

`expanded_conv` is the inverted residual with linear bottleneck of
MobileNetV2 [1] (Fig. 3b, Table 1): 1x1 expansion, k x k depthwise, 1x1
linear projection, identity shortcut when shapes allow. MobileNetV3 [2]
inserts its squeeze-and-excite (`squeeze_excite`, hard-sigmoid gate,
Sec. 5.3) after the depthwise convolution; SE-Slim's attention modules
(`nets/attention.py`, e.g. the SE block of [3]) go to the same place. The
EdgeTPU variant [4] fuses expansion and depthwise into one k x k convolution
(`fused=True`).

References:
  [1] Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks,
      arXiv:1801.04381.
  [2] Howard et al., Searching for MobileNetV3, arXiv:1905.02244.
  [3] Hu et al., Squeeze-and-Excitation Networks, arXiv:1709.01507.
  [4] Gupta and Tan, Introducing the Next Generation of On-Device Vision
      Models: MobileNetV3 and MobileNetEdgeTPU, Google AI Blog, 2019.

Typical use (inside a model's arg_scope):

    net = conv_blocks.expanded_conv(net, num_outputs=24, stride=2,
                                    expansion_size=conv_blocks.expand_by(6),
                                    attention_module='se_block')
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import attention


def make_divisible(value, divisor=8, min_value=None):
  """Rounds `value` to the nearest multiple of `divisor`, losing <= 10%.

  Args:
    value: a channel count, possibly fractional (e.g. after a multiplier).
    divisor: the result is a multiple of this.
    min_value: lower bound; default `divisor`.

  Returns:
    An int multiple of `divisor`, at least `min_value` and at least 90% of
    `value`.
  """
  if min_value is None:
    min_value = divisor
  rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
  if rounded < 0.9 * value:
    rounded += divisor
  return rounded


def expand_by(factor, divisible_by=8):
  """Expansion size of an inverted residual: `factor` x its input width.

  Args:
    factor: expansion ratio t of [1] (may be fractional, as in [2]).
    divisible_by: round the expanded width to a multiple of this.

  Returns:
    A function `num_inputs -> expanded width` for `expanded_conv`.
  """
  def expansion_size(num_inputs):
    return make_divisible(num_inputs * factor, divisible_by)
  return expansion_size


def hard_sigmoid(x, name='hard_sigmoid'):
  """ReLU6(x + 3) / 6, the piecewise-linear sigmoid of [2], Sec. 5.2."""
  with tf.name_scope(name):
    return tf.nn.relu6(x + 3.0) * (1.0 / 6.0)


def hard_swish(x, name='hard_swish'):
  """x * ReLU6(x + 3) / 6, the h-swish non-linearity of [2], Eq. 2."""
  with tf.name_scope(name):
    return x * tf.nn.relu6(x + 3.0) * (1.0 / 6.0)


def fixed_padding(inputs, kernel_size, rate=1):
  """Pads H and W so a VALID conv gives the output size of a SAME conv.

  Args:
    inputs: `[batch, height, width, channels]`.
    kernel_size: `(kh, kw)` of the convolution that follows.
    rate: its dilation rate.

  Returns:
    `[batch, height + kh_eff - 1, width + kw_eff - 1, channels]`, with
    `k_eff = k + (k - 1) * (rate - 1)`.
  """
  pads = [[0, 0]]
  for k in kernel_size:
    total = k + (k - 1) * (rate - 1) - 1
    pads.append([total // 2, total - total // 2])
  pads.append([0, 0])
  return tf.pad(inputs, pads)


@slim.add_arg_scope
def conv(inputs, num_outputs, kernel_size, stride=1, rate=1, scope=None,
         endpoints=None, **kwargs):
  """A `slim.conv2d` layer (batch norm and activation from the arg_scope).

  Args:
    inputs: `[batch, height, width, channels]`.
    num_outputs: output channels.
    kernel_size: `(kh, kw)`.
    stride: spatial stride.
    rate: dilation rate.
    scope: variable scope.
    endpoints: unused; the layer's output is its own end point.
    **kwargs: passed to `slim.conv2d` (e.g. `activation_fn`,
      `normalizer_fn=None` for a conv with biases and no batch norm).

  Returns:
    `[batch, height / stride, width / stride, num_outputs]`.
  """
  del endpoints  # The builder records the layer's output itself.
  return slim.conv2d(inputs, num_outputs, kernel_size, stride=stride,
                     rate=rate, scope=scope, **kwargs)


conv.default_scope = 'Conv'


@slim.add_arg_scope
def pool_to_1x1(inputs, default_size=7, stride=1, rate=1, scope=None,
                endpoints=None):
  """Average pool to 1 x 1 (MobileNetV3's last stage, [2] Fig. 5).

  Args:
    inputs: `[batch, height, width, channels]`.
    default_size: pooling window when H and W are not static and equal.
    stride: pooling stride (1 in the tables).
    rate: unused; a pool has no dilation. Accepted for the layer contract.
    scope: name of the pool op.
    endpoints: unused.

  Returns:
    `[batch, 1, 1, channels]` for square static inputs up to
    `default_size`; otherwise a `default_size` VALID pool of `inputs`.
  """
  del rate, endpoints
  height, width = inputs.get_shape().as_list()[1:3]
  size = height if (height is not None and height == width) else default_size
  return slim.avg_pool2d(inputs, [size, size], stride=stride, padding='VALID',
                         scope=scope)


pool_to_1x1.default_scope = 'AvgPool'


def squeeze_excite(inputs, squeeze_factor=4, divisible_by=8,
                   inner_activation_fn=tf.nn.relu, gating_fn=hard_sigmoid):
  """MobileNetV3's squeeze-and-excite block ([2], Sec. 5.3, Fig. 4).

  Part of the published v3 architecture, with its own variables
  `squeeze_excite/Conv` and `squeeze_excite/Conv_1` (1x1 convs with biases,
  no batch norm); not to be confused with SE-Slim's `attention='se_block'`.

  squeeze:    z = average of `inputs` over H and W          [batch, 1, 1, C]
  excitation: s = gating_fn(W2 act(W1 z + b1) + b2)          [batch, 1, 1, C]
              W1: C -> make_divisible(C / squeeze_factor, divisible_by)
  scale:      out = inputs * s                               [batch, H, W, C]

  Args:
    inputs: `[batch, height, width, channels]` with static channels.
    squeeze_factor: reduction of the bottleneck (4 in [2]).
    divisible_by: the bottleneck width is a multiple of this.
    inner_activation_fn: activation after the first 1x1 conv.
    gating_fn: activation of the gate (hard sigmoid in [2]).

  Returns:
    Tensor shaped like `inputs`.
  """
  with tf.variable_scope('squeeze_excite'):
    channels = inputs.get_shape().as_list()[3]
    squeezed = tf.reduce_mean(inputs, [1, 2], keepdims=True, name='squeeze')
    hidden = slim.conv2d(squeezed,
                         make_divisible(channels / squeeze_factor,
                                        divisible_by),
                         [1, 1], normalizer_fn=None,
                         activation_fn=inner_activation_fn, scope='Conv')
    gate = slim.conv2d(hidden, channels, [1, 1], normalizer_fn=None,
                       activation_fn=gating_fn, scope='Conv_1')
    return inputs * gate


@slim.add_arg_scope
def expanded_conv(inputs,
                  num_outputs,
                  expansion_size=expand_by(6),
                  kernel_size=(3, 3),
                  stride=1,
                  rate=1,
                  use_explicit_padding=False,
                  residual=True,
                  fused=False,
                  activation_fn=None,
                  normalizer_fn=slim.batch_norm,
                  expansion_transform=None,
                  attention_module=None,
                  scope=None,
                  endpoints=None):
  """Inverted residual block with linear bottleneck ([1], Fig. 3b, Table 1).

  expand:     1x1 conv C_in -> C_exp (+BN, activation); skipped when
              C_exp <= C_in (e.g. expansion factor 1)
  depthwise:  k x k depthwise conv, stride s (+BN, activation)
  transform:  `expansion_transform` (MobileNetV3's `squeeze_excite`), then
              the attention module (`attention_module`, e.g. SE of [3]):
              one `attention.apply_attention` call on the depthwise output,
              `[batch, H/s, W/s, C_exp]`, variables under the module's sub-scope
              (SE: `<scope>/se/`)
  project:    1x1 conv C_exp -> C_out (+BN, no activation: linear bottleneck)
  shortcut:   output += inputs when `residual`, s == 1 and C_in == C_out

  With `fused=True` (EdgeTPU), expand and depthwise are one k x k conv with
  stride s and there is no depthwise layer.

  Variables: `<scope>/expand`, `<scope>/depthwise`, `<scope>/project` (each
  with `BatchNorm`), plus `<scope>/squeeze_excite/...` or `<scope>/se/...`
  when those are on.

  Args:
    inputs: `[batch, height, width, C_in]`.
    num_outputs: C_out.
    expansion_size: C_exp, an int or a function of C_in (see `expand_by`).
    kernel_size: depthwise (or fused) kernel `(kh, kw)`.
    stride: spatial stride of the depthwise (or fused) conv.
    rate: its dilation rate.
    use_explicit_padding: pad the depthwise (or fused) conv's input with
      `fixed_padding` and convolve with VALID padding.
    residual: add the identity shortcut where shapes allow.
    fused: replace expand + depthwise by one k x k conv (EdgeTPU).
    activation_fn: activation of expand and depthwise; None keeps the
      arg_scope's (the table's default).
    normalizer_fn: normalizer of all three convolutions.
    expansion_transform: optional `fn(net) -> net` on the depthwise output.
    attention_module: None (off: nothing added) or an `attention.Attention`
      (or bare name).
    scope: variable scope; default 'expanded_conv'.
    endpoints: optional dict receiving 'expansion_output' (if expanded),
      'depthwise_output' (unless fused) and 'output'.

  Returns:
    `[batch, height / stride, width / stride, num_outputs]`.

  Raises:
    ValueError: for an unknown attention module or bad reduction ratio, or
      a fused block asked to stride without expanding.
  """
  act = {} if activation_fn is None else {'activation_fn': activation_fn}
  padding = {'padding': 'VALID'} if use_explicit_padding else {}
  endpoints = {} if endpoints is None else endpoints

  def pad(net):
    return (fixed_padding(net, kernel_size, rate) if use_explicit_padding
            else net)

  with tf.variable_scope(scope, 'expanded_conv', [inputs]):
    in_depth = inputs.get_shape().as_list()[3]
    inner_size = (expansion_size(in_depth) if callable(expansion_size)
                  else expansion_size)
    net = inputs
    if inner_size > in_depth:
      if fused:
        net = slim.conv2d(pad(net), inner_size, kernel_size, stride=stride,
                          rate=rate, normalizer_fn=normalizer_fn,
                          scope='expand', **dict(act, **padding))
      else:
        net = slim.conv2d(net, inner_size, [1, 1],
                          normalizer_fn=normalizer_fn, scope='expand', **act)
      net = tf.identity(net, name='expansion_output')
      endpoints['expansion_output'] = net
    elif fused and stride != 1:
      raise ValueError('A fused expanded_conv strides in its expansion conv, '
                       'but expansion_size %r <= input depth %d adds none '
                       '(stride %r)' % (inner_size, in_depth, stride))
    if not fused:
      net = slim.separable_conv2d(pad(net), None, kernel_size,
                                  depth_multiplier=1, stride=stride,
                                  rate=rate, normalizer_fn=normalizer_fn,
                                  scope='depthwise', **dict(act, **padding))
      net = tf.identity(net, name='depthwise_output')
      endpoints['depthwise_output'] = net
    # [batch, H / stride, W / stride, C_exp]
    if expansion_transform is not None:
      net = expansion_transform(net)
    net = attention.apply_attention(attention_module, net)
    net = slim.conv2d(net, num_outputs, [1, 1], activation_fn=None,
                      normalizer_fn=normalizer_fn, scope='project')
    if (residual and stride == 1 and
        num_outputs == in_depth):
      net += inputs
    net = tf.identity(net, name='output')
    endpoints['output'] = net
    return net


expanded_conv.default_scope = 'expanded_conv'
