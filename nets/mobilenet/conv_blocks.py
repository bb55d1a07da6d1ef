"""Layers that the MobileNet v2/v3 tables stack, and their activations.

Every layer function here has the contract the table-driven builder in
`mobilenet.py` relies on:

    fn(inputs, scope=None, endpoints=None, stride=1, rate=1, **params) -> net

`inputs` and `net` are 4-D NHWC tensors. `scope` is the layer's variable
scope (the builder names layers 'Conv', 'Conv_1', 'expanded_conv', ...).
`endpoints`, if given, is a dict the layer adds named intermediate tensors
to (`expansion_output`, `depthwise_output`, `output`); the builder exports
them as `layer_<i>/<name>` (not `expanded_conv`'s `projection_output`,
which Slim's builder does not export either). `expanded_conv` calls its
first argument `input_tensor`, as TF-Slim does. A layer with a `num_outputs` parameter has its
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
    A function `num_inputs -> expanded width` for `expanded_conv`, which
    calls it as `expansion_size(num_inputs=C_in)`; it ignores other keyword
    arguments, as TF-Slim's `expand_input_by_factor` does.
  """
  def expansion_size(num_inputs, **unused_kwargs):
    del unused_kwargs
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


@slim.add_arg_scope
def squeeze_excite(input_tensor,
                   divisible_by=8,
                   squeeze_factor=3,
                   inner_activation_fn=tf.nn.relu,
                   gating_fn=tf.sigmoid,
                   squeeze_input_tensor=None,
                   pool=None):
  """MobileNetV3's squeeze-and-excite block ([2], Sec. 5.3, Fig. 4).

  TF-Slim's signature and defaults (sigmoid gate, squeeze_factor=3);
  MobileNetV3 itself passes `squeeze_factor=4, gating_fn=hard_sigmoid`.
  Part of the published v3 architecture, with its own variables
  `squeeze_excite/Conv` and `squeeze_excite/Conv_1` (1x1 convs with biases,
  no batch norm); not to be confused with SE-Slim's `attention='se_block'`.

  Let X = `squeeze_input_tensor` (default `input_tensor`), C_x its channels
  and C the channels of `input_tensor`:

  squeeze:    z = average of X over H and W                 [batch, 1, 1, C_x]
              (with `pool`: a pool x pool average, stride pool, VALID)
  excitation: s = gating_fn(W2 act(W1 z + b1) + b2)          [batch, h, w, C]
              W1: C_x -> make_divisible(C_x / squeeze_factor, divisible_by)
              (with `pool`: s is bilinearly resized back to H x W)
  scale:      out = input_tensor * s                        [batch, H, W, C]

  Args:
    input_tensor: `[batch, height, width, channels]`, static channels.
    divisible_by: the bottleneck width is a multiple of this.
    squeeze_factor: reduction of the bottleneck.
    inner_activation_fn: activation after the first 1x1 conv.
    gating_fn: activation of the gate.
    squeeze_input_tensor: if given, the gate is computed from this tensor
      (same H and W as `input_tensor`) instead of from `input_tensor`.
    pool: if given, and the squeeze input is at least this tall, average
      over pool x pool windows (stride pool) instead of the whole map, so
      the gate varies over space.

  Returns:
    Tensor shaped like `input_tensor`.
  """
  with tf.variable_scope('squeeze_excite'):
    if squeeze_input_tensor is None:
      squeeze_input_tensor = input_tensor
    in_size = input_tensor.get_shape().as_list()[1:3]
    source_height = squeeze_input_tensor.get_shape().as_list()[1]
    source_channels = squeeze_input_tensor.get_shape().as_list()[3]
    channels = input_tensor.get_shape().as_list()[3]
    pooled_locally = (pool is not None and source_height is not None and
                      source_height >= pool)
    if pooled_locally:
      squeezed = tf.nn.avg_pool(squeeze_input_tensor, (1, pool, pool, 1),
                                strides=(1, pool, pool, 1), padding='VALID',
                                name='squeeze')
    else:
      # The mean over the whole map; TF-Slim's full-size VALID average pool
      # gives the same values, this also works with unknown H and W.
      squeezed = tf.reduce_mean(squeeze_input_tensor, [1, 2], keepdims=True,
                                name='squeeze')
    hidden = slim.conv2d(squeezed,
                         make_divisible(source_channels / squeeze_factor,
                                        divisible_by),
                         [1, 1], normalizer_fn=None,
                         activation_fn=inner_activation_fn, scope='Conv')
    gate = slim.conv2d(hidden, channels, [1, 1], normalizer_fn=None,
                       activation_fn=gating_fn, scope='Conv_1')
    if pool is not None:
      # As TF-Slim: bilinear with align_corners (a no-op for a 1 x 1 gate
      # of the same size, and TPU-friendly).
      gate = tf.image.resize_bilinear(gate, in_size, align_corners=True)
    return input_tensor * gate


def expand_input_by_factor(n, divisible_by=8):
  """TF-Slim's name for `expand_by`: expand the input width `n` times.

  Args:
    n: expansion ratio.
    divisible_by: round the expanded width to a multiple of this.

  Returns:
    A function `(num_inputs, **unused) -> make_divisible(num_inputs * n)`.
  """
  return expand_by(n, divisible_by)


@slim.add_arg_scope
def split_separable_conv2d(input_tensor,
                           num_outputs,
                           scope=None,
                           normalizer_fn=None,
                           stride=1,
                           rate=1,
                           endpoints=None,
                           use_explicit_padding=False):
  """MobileNetV1's separable conv: 3x3 depthwise, then 1x1 pointwise.

  Unlike `slim.separable_conv2d` with `num_outputs`, the depthwise conv is
  its own layer with its own normalizer and activation (from the arg_scope),
  as in [MobileNets, arXiv:1704.04861, Fig. 3]. Variables, as TF-Slim names
  them for V1 checkpoints: `<scope>_depthwise/...` and `<scope>_pointwise/...`
  or, with `scope=None`, `separable[_<n>]/depthwise/...` and `.../pointwise`.

  Args:
    input_tensor: `[batch, height, width, C_in]`.
    num_outputs: C_out of the pointwise conv.
    scope: prefix of the two layers' scopes, or None for a unique
      `separable` scope.
    normalizer_fn: normalizer of both convs (None: biases, no norm).
    stride: stride of the depthwise conv.
    rate: dilation rate of the depthwise conv.
    endpoints: optional dict; gets both layers' outputs, keyed by their
      scope names ('<scope>_depthwise', '<scope>_pointwise' or 'depthwise',
      'pointwise').
    use_explicit_padding: pad with `fixed_padding` and convolve VALID, so
      the output size is that of SAME padding.

  Returns:
    `[batch, ceil(height / stride), ceil(width / stride), num_outputs]`.
  """
  endpoints = endpoints if endpoints is not None else {}
  kernel_size = [3, 3]

  def build(prefix):
    net = input_tensor
    padding = 'SAME'
    if use_explicit_padding:
      padding = 'VALID'
      net = fixed_padding(net, kernel_size, rate)
    dw_scope = prefix + 'depthwise'
    net = slim.separable_conv2d(net, None, kernel_size, depth_multiplier=1,
                                stride=stride, rate=rate,
                                normalizer_fn=normalizer_fn, padding=padding,
                                scope=dw_scope)
    endpoints[dw_scope] = net
    pw_scope = prefix + 'pointwise'
    net = slim.conv2d(net, num_outputs, [1, 1], stride=1,
                      normalizer_fn=normalizer_fn, scope=pw_scope)
    endpoints[pw_scope] = net
    return net

  if scope is None:
    with tf.variable_scope(None, default_name='separable') as s, \
         tf.name_scope(s.original_name_scope):
      return build('')
  # '<scope>_depthwise' / '<scope>_pointwise', the numbered scopes of
  # MobileNetV1 checkpoints ('Conv2d_1_depthwise', ...).
  return build(scope + '_')


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


class _BadArgument(ValueError, TypeError):
  """A bad argument value of `expanded_conv`.

  A ValueError, as SE-Slim reports bad values; also a TypeError, which is
  what TF-Slim raises for an unknown `depthwise_location` or a padding that
  contradicts `use_explicit_padding`, so callers written for Slim still
  catch it.
  """


_DEPTHWISE_LOCATIONS = ('expansion', 'input', 'output', None)


@slim.add_arg_scope
def expanded_conv(input_tensor,
                  num_outputs,
                  expansion_size=expand_by(6),
                  stride=1,
                  rate=1,
                  kernel_size=(3, 3),
                  residual=True,
                  normalizer_fn=slim.batch_norm,
                  split_projection=1,
                  split_expansion=1,
                  split_divisible_by=8,
                  expansion_transform=None,
                  depthwise_location='expansion',
                  depthwise_channel_multiplier=1,
                  endpoints=None,
                  use_explicit_padding=False,
                  padding='SAME',
                  inner_activation_fn=None,
                  depthwise_activation_fn=None,
                  project_activation_fn=tf.identity,
                  depthwise_fn=slim.separable_conv2d,
                  expansion_fn=split_conv,
                  projection_fn=split_conv,
                  scope=None,
                  *,
                  fused=False,
                  attention_module=None):
  """Inverted residual block with linear bottleneck ([1], Fig. 3b, Table 1).

  TF-Slim's block, with its parameters in its order; SE-Slim adds the
  keyword-only `fused` and `attention_module`. With the defaults
  (`depthwise_location='expansion'`):

  input:      `input_tensor`                             [batch, H, W, C_in]
  expand:     `expansion_fn`, 1x1 conv C_in -> C_exp (+BN, activation);
              skipped when C_exp <= C_in (e.g. expansion factor 1)
  depthwise:  `depthwise_fn`, k x k depthwise conv, stride s, multiplier m
              (+BN, activation)                 [batch, H/s, W/s, m * C_exp]
  transform:  `expansion_transform` (MobileNetV3's `squeeze_excite`), then
              the attention module (`attention_module`, e.g. SE of [3]):
              one `attention.apply_attention` call on that tensor, variables
              under the module's sub-scope (SE: `<scope>/se/`)
  project:    `projection_fn`, 1x1 conv -> C_out (+BN, `project_activation_fn`,
              the identity: linear bottleneck)    [batch, H/s, W/s, C_out]
  shortcut:   output += input when `residual`, s == 1 and the depths match

  `depthwise_location` moves the depthwise conv as in TF-Slim: 'input' puts
  it before the expansion (which then expands from m * C_in), 'output'
  after the projection (output depth m * C_out), None drops it; at 'input'
  and 'output' it has no activation. The transform and the attention module
  always act between expansion (or depthwise at 'expansion') and projection.

  With `fused=True` (EdgeTPU [4]), expansion and depthwise are one k x k
  conv `<scope>/expand` with stride s and there is no depthwise layer (what
  Slim builds with `expansion_fn=partial(slim.conv2d, kernel_size=k,
  stride=s)` and `depthwise_location=None`, but also following `rate` and
  `use_explicit_padding`).

  `split_expansion` / `split_projection` > 1 make the default 1x1 expand /
  project conv a grouped one (`split_conv`): N convs over channel groups,
  `<scope>/expand_part_0` ... `<scope>/expand_part_<N-1>` (or
  `project_part_<i>`), outputs concatenated. A conv whose groups would have
  fewer than `split_divisible_by` channels on either side stays one conv. A
  custom `expansion_fn` / `projection_fn` ignores them, as in TF-Slim.

  Variables: `<scope>/expand`, `<scope>/depthwise`, `<scope>/project` (each
  with `BatchNorm`), plus `<scope>/squeeze_excite/...` or `<scope>/se/...`
  when those are on: exactly TF-Slim's.

  Args:
    input_tensor: `[batch, height, width, C_in]`.
    num_outputs: C_out.
    expansion_size: C_exp, an int or a callable called as
      `expansion_size(num_inputs=C_in)` (see `expand_by`); for forward
      compatibility it should accept other keyword arguments.
    stride: spatial stride of the depthwise (or fused) conv.
    rate: its dilation rate.
    kernel_size: depthwise (or fused) kernel `(kh, kw)`.
    residual: add the identity shortcut where shapes allow; or a callable
      `residual(input_tensor=, output_tensor=) -> net` for a custom one.
    normalizer_fn: normalizer of every convolution. SE-Slim keeps batch norm
      as the default (Slim's is None, which its tables override with batch
      norm).
    split_projection: groups of the default project conv (1: one conv).
    split_expansion: groups of the default expand conv (1: one conv); a
      fused block's k x k expansion cannot be split.
    split_divisible_by: every group's width is a multiple of this.
    expansion_transform: optional callable, called as
      `expansion_transform(expansion_tensor=net, input_tensor=input)` on the
      depthwise output (at 'expansion'; else the expansion), returning a
      tensor; `input` is the block's input.
    depthwise_location: 'expansion', 'input', 'output' or None (see above).
    depthwise_channel_multiplier: m, depthwise outputs per input channel.
    endpoints: optional dict receiving 'expansion_output' (if expanded),
      'depthwise_output' (if there is a depthwise conv), 'projection_output'
      (the projection, before the depthwise at 'output' and the shortcut)
      and 'output'.
    use_explicit_padding: pad the depthwise (or fused) conv's input with
      `fixed_padding` and convolve with VALID padding.
    padding: padding of the depthwise (or fused) conv otherwise.
    inner_activation_fn: activation of every inner `slim.conv2d` and
      `slim.separable_conv2d` (set by arg_scope, so a custom `expansion_fn`
      built on them follows it); None keeps the caller's arg_scope.
    depthwise_activation_fn: activation of the depthwise conv only; wins
      over `inner_activation_fn`; None: as the inner ones.
    project_activation_fn: activation of the projection (not affected by
      `inner_activation_fn`).
    depthwise_fn: depthwise conv, called like `slim.separable_conv2d` with
      `num_outputs=None`, `kernel_size`, `depth_multiplier`, `stride`,
      `rate`, `normalizer_fn`, `padding` and `scope='depthwise'`.
    expansion_fn: expansion conv, called as `expansion_fn(net, C_exp,
      scope='expand', normalizer_fn=...)`.
    projection_fn: projection conv, called as `projection_fn(net, C_out,
      scope='project', normalizer_fn=..., activation_fn=...)`.
    scope: variable scope; default 'expanded_conv'.
    fused: replace expand + depthwise by one k x k conv (EdgeTPU); needs
      the default `expansion_fn` and `split_expansion`, and
      `depthwise_location` 'expansion' or None.
    attention_module: None (off: nothing added) or an `attention.Attention`
      (or bare name).

  Returns:
    `[batch, height / stride, width / stride, num_outputs]` (times m with
    the depthwise conv at 'output').

  Raises:
    ValueError: for an unknown attention module or bad reduction ratio, a
      fused block asked to stride without expanding, to split its expansion,
      to use a custom `expansion_fn` or a depthwise conv at 'input' or
      'output', a split count that is not an int >= 1, or a split conv whose
      channels are not multiples of `split_divisible_by`. An unknown
      `depthwise_location`, or `use_explicit_padding` with a padding other
      than 'SAME', raises an error that is both a ValueError and (as in
      TF-Slim) a TypeError.
  """
  if depthwise_location not in _DEPTHWISE_LOCATIONS:
    raise _BadArgument('Unknown depthwise_location %r; expected one of: %s' %
                       (depthwise_location,
                        ', '.join(map(repr, _DEPTHWISE_LOCATIONS))))
  if use_explicit_padding:
    if padding != 'SAME':
      raise _BadArgument("use_explicit_padding=True pads for 'SAME' output "
                         "sizes; got padding=%r (expected 'SAME')" %
                         (padding,))
    padding = 'VALID'
  _check_num_ways('split_expansion', split_expansion)
  _check_num_ways('split_projection', split_projection)
  if fused:
    kernel = 'x'.join(map(str, kernel_size))
    if split_expansion != 1:
      raise ValueError('split_expansion=%r needs a 1x1 expansion; a fused '
                       'expanded_conv expands with one %s conv (expected '
                       'split_expansion=1)' % (split_expansion, kernel))
    if expansion_fn is not split_conv:
      raise ValueError('A fused expanded_conv expands with its own %s conv; '
                       'got expansion_fn=%r (expected the default '
                       'split_conv)' % (kernel, expansion_fn))
    if depthwise_location not in ('expansion', None):
      raise ValueError('A fused expanded_conv has no depthwise conv; got '
                       "depthwise_location=%r (expected 'expansion' or "
                       'None)' % (depthwise_location,))

  # As Slim: the inner activations reach the convs through arg_scope (so
  # custom expansion / depthwise functions built on slim follow them).
  conv_defaults = {}
  dw_defaults = {}
  if inner_activation_fn is not None:
    conv_defaults['activation_fn'] = inner_activation_fn
    dw_defaults['activation_fn'] = inner_activation_fn
  if depthwise_activation_fn is not None:
    dw_defaults['activation_fn'] = depthwise_activation_fn
  endpoints = {} if endpoints is None else endpoints

  def pad(net):
    return (fixed_padding(net, kernel_size, rate) if use_explicit_padding
            else net)

  def depthwise(net, **kwargs):
    net = depthwise_fn(pad(net), num_outputs=None, kernel_size=kernel_size,
                       depth_multiplier=depthwise_channel_multiplier,
                       stride=stride, rate=rate, normalizer_fn=normalizer_fn,
                       padding=padding, scope='depthwise', **kwargs)
    net = tf.identity(net, name='depthwise_output')
    endpoints['depthwise_output'] = net
    return net

  with tf.variable_scope(scope, 'expanded_conv', [input_tensor]), \
      slim.arg_scope([slim.conv2d], **conv_defaults), \
      slim.arg_scope([slim.separable_conv2d], **dw_defaults):
    in_depth = input_tensor.get_shape().as_list()[3]
    # Unlike Slim, no `<scope>/input` identity op: every extra op shifts the
    # op-level seeds a graph seed gives, so the initial weights of a seeded
    # graph would no longer be those of earlier SE-Slim versions.
    net = input_tensor
    if depthwise_location == 'input':
      net = depthwise(net, activation_fn=None)

    inner_size = (expansion_size(num_inputs=in_depth)
                  if callable(expansion_size) else expansion_size)
    net_depth = net.get_shape().as_list()[3]
    if inner_size > net_depth:
      if fused:
        net = slim.conv2d(pad(net), inner_size, kernel_size, stride=stride,
                          rate=rate, normalizer_fn=normalizer_fn,
                          padding=padding, scope='expand')
      elif expansion_fn is split_conv:
        net = split_conv(net, inner_size, split_expansion, 'expand',
                         divisible_by=split_divisible_by, stride=1,
                         normalizer_fn=normalizer_fn)
      else:
        net = expansion_fn(net, inner_size, scope='expand',
                           normalizer_fn=normalizer_fn)
      net = tf.identity(net, name='expansion_output')
      endpoints['expansion_output'] = net
    elif fused and stride != 1:
      raise ValueError('A fused expanded_conv strides in its expansion conv, '
                       'but expansion_size %r <= input depth %d adds none '
                       '(stride %r)' % (inner_size, net_depth, stride))
    if depthwise_location == 'expansion' and not fused:
      net = depthwise(net)
    # [batch, H / stride, W / stride, m * C_exp]
    if expansion_transform:
      net = expansion_transform(expansion_tensor=net,
                                input_tensor=input_tensor)
    net = attention.apply_attention(attention_module, net)
    if projection_fn is split_conv:
      # tf.identity as None: the same values without an op (see above).
      net = split_conv(net, num_outputs, split_projection, 'project',
                       divisible_by=split_divisible_by, stride=1,
                       normalizer_fn=normalizer_fn,
                       activation_fn=(None if project_activation_fn is
                                      tf.identity else project_activation_fn))
    else:
      net = projection_fn(net, num_outputs, scope='project',
                          normalizer_fn=normalizer_fn,
                          activation_fn=project_activation_fn)
    endpoints['projection_output'] = net
    if depthwise_location == 'output':
      net = depthwise(net, activation_fn=None)

    if callable(residual):
      net = residual(input_tensor=input_tensor, output_tensor=net)
    elif (residual and
          # Only where the shapes surely match: no stride, same depth.
          stride == 1 and
          net.get_shape().as_list()[3] == in_depth):
      net += input_tensor
    net = tf.identity(net, name='output')
    endpoints['output'] = net
    return net


expanded_conv.default_scope = 'expanded_conv'
