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
(`fused=True`). `split_conv` is TF-Slim's grouped 1x1 convolution, which
`expanded_conv` uses for its expansion and projection when
`split_expansion` / `split_projection` > 1.

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

import numbers

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


def _split_divisible(num, num_ways, divisible_by=8, what='channels'):
  """Splits `num` channels into `num_ways` multiples of `divisible_by`.

  As TF-Slim's split: each part is the smallest multiple of `divisible_by`
  (and at least `num // num_ways` rounded down to one) that brings the
  running total up to its even share, so the parts sum to `num`: 48 in 3
  ways by 8 is [16, 16, 16], 40 is [16, 16, 8], 24 in 2 ways is [16, 8],
  96 in 4 ways by 16 is [32, 16, 32, 16].

  Args:
    num: channels to split; a multiple of `divisible_by`.
    num_ways: number of parts, >= 1.
    divisible_by: every part is a multiple of this.
    what: what the channels are, for the error message.

  Returns:
    A list of `num_ways` ints.

  Raises:
    ValueError: if `num` is not a multiple of `divisible_by`, or too small
      to give every part at least `divisible_by` channels.
  """
  if num % divisible_by or num < num_ways * divisible_by:
    raise ValueError('Cannot split the %d %s %d ways into multiples of '
                     'split_divisible_by=%d; expected a multiple of %d, at '
                     'least %d' % (num, what, num_ways, divisible_by,
                                   divisible_by, num_ways * divisible_by))
  base = num // num_ways // divisible_by * divisible_by
  parts = []
  done = 0
  for i in range(num_ways):
    # The smallest multiple of divisible_by (and >= base) that brings the
    # running total up to the even share, num * (i + 1) / num_ways.
    short = -(-(num * (i + 1) - done * num_ways) // num_ways)  # ceil
    part = max(base, -(-short // divisible_by) * divisible_by)
    parts.append(part)
    done += part
  return parts


def _check_num_ways(name, value):
  """Raises ValueError unless `value` (argument `name`) is an int >= 1."""
  if (isinstance(value, bool) or not isinstance(value, numbers.Integral) or
      value < 1):
    raise ValueError('%s must be an int >= 1; got %r' % (name, value))


def split_conv(input_tensor, num_outputs, num_ways, scope, divisible_by=8,
               **kwargs):
  """A 1x1 conv split into `num_ways` convs over channel groups (TF-Slim's).

  Input and output channels are each split into `num_ways` groups
  (`_split_divisible`); the i-th input group feeds only the i-th output
  group, through its own 1x1 conv `<scope>_part_<i>`, and the outputs are
  concatenated. The weights shrink about `num_ways` times (a grouped 1x1
  convolution, as in ShuffleNet's group convs).

  With `num_ways == 1`, or when a group would get fewer than
  `divisible_by` input or output channels, this is the plain
  `slim.conv2d(input_tensor, num_outputs, [1, 1], scope=scope)`, with the
  same variable names (`<scope>/weights`, ...), as in TF-Slim.

  Args:
    input_tensor: `[batch, height, width, C_in]`.
    num_outputs: C_out.
    num_ways: number of groups, >= 1.
    scope: variable scope of the conv, or prefix of its parts' scopes.
    divisible_by: every group's width is a multiple of this.
    **kwargs: passed to every `slim.conv2d` (normalizer_fn, activation_fn).

  Returns:
    `[batch, height, width, num_outputs]`.

  Raises:
    ValueError: if `num_ways` is not an int >= 1, or C_in or C_out is not
      a multiple of `divisible_by` when the conv is split.
  """
  _check_num_ways('num_ways', num_ways)
  in_depth = input_tensor.get_shape().as_list()[3]
  if num_ways == 1 or min(in_depth // num_ways,
                          num_outputs // num_ways) < divisible_by:
    return slim.conv2d(input_tensor, num_outputs, [1, 1], scope=scope,
                       **kwargs)
  splits = [_split_divisible(depth, num_ways, divisible_by,
                             '%s channels of %r' % (what, scope))
            for what, depth in (('input', in_depth), ('output', num_outputs))]
  groups = tf.split(input_tensor, splits[0], axis=3, name='split_' + scope)
  outputs = []
  for i, (group, depth) in enumerate(zip(groups, splits[1])):
    part_scope = '%s_part_%d' % (scope, i)
    net = slim.conv2d(group, depth, [1, 1], scope=part_scope, **kwargs)
    outputs.append(tf.identity(net, part_scope + '_output'))
  # TF-Slim names the concat after the last part ('project_part_1_concat');
  # kept so that graph tensor names match too.
  return tf.concat(outputs, 3, name=part_scope + '_concat')


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
                  split_projection=1,
                  split_expansion=1,
                  split_divisible_by=8,
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

  `split_expansion` / `split_projection` > 1 make the 1x1 expand / project
  conv a grouped one, as TF-Slim's `split_conv`: N convs over channel
  groups, `<scope>/expand_part_0` ... `<scope>/expand_part_<N-1>` (or
  `project_part_<i>`), outputs concatenated. A conv whose groups would have
  fewer than `split_divisible_by` channels on either side stays one conv.

  Variables: `<scope>/expand`, `<scope>/depthwise`, `<scope>/project` (each
  with `BatchNorm`), plus `<scope>/squeeze_excite/...` or `<scope>/se/...`
  when those are on. With the split options at 1 (the default) they are
  exactly TF-Slim's.

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
    split_projection: groups of the project conv (1: one conv).
    split_expansion: groups of the expand conv (1: one conv); a fused
      block's k x k expansion cannot be split.
    split_divisible_by: every group's width is a multiple of this.
    scope: variable scope; default 'expanded_conv'.
    endpoints: optional dict receiving 'expansion_output' (if expanded),
      'depthwise_output' (unless fused) and 'output'.

  Returns:
    `[batch, height / stride, width / stride, num_outputs]`.

  Raises:
    ValueError: for an unknown attention module or bad reduction ratio, a
      fused block asked to stride without expanding or to split its
      expansion, a split count that is not an int >= 1, or a split conv
      whose channels are not multiples of `split_divisible_by`.
  """
  act = {} if activation_fn is None else {'activation_fn': activation_fn}
  padding = {'padding': 'VALID'} if use_explicit_padding else {}
  endpoints = {} if endpoints is None else endpoints

  def pad(net):
    return (fixed_padding(net, kernel_size, rate) if use_explicit_padding
            else net)

  _check_num_ways('split_expansion', split_expansion)
  _check_num_ways('split_projection', split_projection)
  if fused and split_expansion != 1:
    raise ValueError('split_expansion=%r needs a 1x1 expansion; a fused '
                     'expanded_conv expands with one %s conv (expected '
                     'split_expansion=1)' %
                     (split_expansion, 'x'.join(map(str, kernel_size))))

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
        net = split_conv(net, inner_size, split_expansion, 'expand',
                         divisible_by=split_divisible_by,
                         normalizer_fn=normalizer_fn, **act)
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
    net = split_conv(net, num_outputs, split_projection, 'project',
                     divisible_by=split_divisible_by, activation_fn=None,
                     normalizer_fn=normalizer_fn)
    if (residual and stride == 1 and
        num_outputs == in_depth):
      net += inputs
    net = tf.identity(net, name='output')
    endpoints['output'] = net
    return net


expanded_conv.default_scope = 'expanded_conv'
