"""The released SENet ImageNet models [1]: SE-ResNet-50/101/152 and
SE-ResNeXt-50/101 (32x4d), in the topology of the authors' Caffe models.

These are not `resnet_v1_N --attention_module=se_block`: they follow the
released prototxts (hujie-frank/SENet) and their PyTorch ports (Cadene's
`pretrainedmodels`, timm's `legacy_seresnet*` / `legacy_seresnext*`), so
that those weights load (tools/convert_senet_weights.py):

* stem: 7x7/2 conv (no bias) + batch norm + ReLU, then a 3x3/2 max pool in
  Caffe's `ceil_mode` (the last window may hang over the bottom/right edge);
* each block's stride sits in its **first** unit (Slim puts it in the last):
  on `conv1`, the first 1x1, for SE-ResNet (as Caffe's ResNet [2]); on the
  grouped 3x3 `conv2` for SE-ResNeXt [3] (32 groups, twice the bottleneck
  width of SE-ResNet);
* the first unit of every block projects its shortcut (1x1 conv + batch
  norm, carrying the stride);
* SE on the residual branch after `conv3`'s batch norm, before the addition
  (`resnet_common.unit_attention`), with r = 16; batch norm epsilon 1e-5;
* padding is PyTorch's: symmetric, made explicit before VALID convolutions,
  so logits equal the ports' at every input size, odd ones included.

The depth table and block widths are `resnet_common`'s; the stem, head and
stacking are `resnet_common.resnet`'s; only the unit, the stem's pooling and
the block description (stride in the first unit) are written here. The SE
module is not built in: the factory row binds it (`nets_factory`), so
`attention_module=None` gives the same network without SE.

Variables (e.g. `se_resnet50`): `conv1/{weights,BatchNorm/*}`, per unit
`blockN/unit_M/bottleneck/{shortcut,conv1,conv2,conv3}/...` and
`.../bottleneck/se/{fc1,fc2}/{weights,biases}`, and `logits/{weights,biases}`
(1000 classes, no background class).

References:
  [1] Hu et al., Squeeze-and-Excitation Networks, arXiv:1709.01507.
  [2] He et al., Deep Residual Learning for Image Recognition,
      arXiv:1512.03385.
  [3] Xie et al., Aggregated Residual Transformations for Deep Neural
      Networks, arXiv:1611.05431.

Typical use:

    import tf_slim as slim
    from nets import senet

    # images: [batch, 224, 224, 3], RGB normalised as senet_preprocessing does
    with slim.arg_scope(senet.senet_arg_scope()):
      logits, end_points = senet.se_resnext50_32x4d(
          images, num_classes=1000, is_training=False,
          attention_module=attention.bind('se_block', reduction_ratio=16))
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf
import tf_slim as slim
from tf_slim.nets import resnet_utils

import tf_compat
from nets import attention
from nets import resnet_common

# The released networks feature every depth of this table but 200.
UNITS_PER_BLOCK = resnet_common.UNITS_PER_BLOCK
# The stride of each block, taken by its first unit (Caffe's placement).
BLOCK_STRIDES = (1, 2, 2, 2)
# SE-ResNeXt 32x4d: 32 groups of 4 channels at base width 64 [3], so the
# grouped conv is twice as wide as SE-ResNet's bottleneck.
RESNEXT_GROUPS = 32
RESNEXT_WIDTH_FACTOR = 2


@slim.add_arg_scope
def grouped_conv2d(inputs, num_outputs, kernel_size, groups, stride=1, rate=1,
                   activation_fn=tf.nn.relu, normalizer_fn=None,
                   normalizer_params=None, weights_initializer=None,
                   weights_regularizer=None, trainable=True, scope=None):
  """A `kernel_size` conv in `groups` groups with PyTorch's padding.

  One variable `weights: [k, k, C_in / groups, num_outputs]` (the layout the
  converter writes); the op that runs it is chosen by
  `tf_compat.grouped_conv2d`. The input is padded by `rate * (k - 1) / 2` on
  every side, then convolved VALID, as PyTorch's `padding=k // 2`.

  Args:
    inputs: `[batch, height, width, C_in]`, C_in divisible by `groups`.
    num_outputs: C_out, divisible by `groups`.
    kernel_size: odd int k.
    groups: number of groups.
    stride: spatial stride.
    rate: dilation rate.
    activation_fn: applied after the normalizer; None for linear.
    normalizer_fn: e.g. `slim.batch_norm`; None adds no normalizer.
    normalizer_params: kwargs of `normalizer_fn`.
    weights_initializer: initializer of `weights` (default Glorot uniform).
    weights_regularizer: optional regularizer of `weights`.
    trainable: whether `weights` is trainable.
    scope: variable scope; default 'GroupedConv'.

  Returns:
    `[batch, ceil(height / stride), ceil(width / stride), num_outputs]`.

  Raises:
    ValueError: if C_in or `num_outputs` is not divisible by `groups`.
  """
  in_depth = slim.utils.last_dimension(inputs.get_shape(), min_rank=4)
  if in_depth % groups or num_outputs % groups:
    raise ValueError('grouped_conv2d: %d input and %d output channels are not '
                     'both divisible by groups=%d' %
                     (in_depth, num_outputs, groups))
  with tf.variable_scope(scope, 'GroupedConv', [inputs]):
    weights = slim.model_variable(
        'weights', shape=[kernel_size, kernel_size, in_depth // groups,
                          num_outputs],
        initializer=weights_initializer or
        tf.glorot_uniform_initializer(),
        regularizer=weights_regularizer, trainable=trainable)
    pad = rate * (kernel_size - 1) // 2
    net = tf.pad(inputs, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    net = tf_compat.grouped_conv2d(net, weights, stride=stride, rate=rate)
    if normalizer_fn is not None:
      net = normalizer_fn(net, **(normalizer_params or {}))
    if activation_fn is not None:
      net = activation_fn(net)
    return net


def senet_arg_scope(weight_decay=0.0001, batch_norm_decay=0.997,
                    batch_norm_epsilon=1e-5, batch_norm_scale=True):
  """Slim's `resnet_arg_scope`, extended to `grouped_conv2d`.

  The defaults are Slim's ResNet ones; epsilon 1e-5 is also that of the
  released models' batch norm (Caffe's and PyTorch's default).

  Args:
    weight_decay: L2 coefficient of every conv's weights.
    batch_norm_decay: decay of the moving averages.
    batch_norm_epsilon: added to the variance.
    batch_norm_scale: learn a scale (gamma); the released models have one.

  Returns:
    An arg_scope dict.
  """
  with slim.arg_scope(resnet_utils.resnet_arg_scope(
      weight_decay=weight_decay, batch_norm_decay=batch_norm_decay,
      batch_norm_epsilon=batch_norm_epsilon,
      batch_norm_scale=batch_norm_scale)) as sc:
    conv_kwargs = sc[slim.arg_scope_func_key(slim.conv2d)]
    with slim.arg_scope([grouped_conv2d], **{
        k: conv_kwargs[k] for k in ('weights_initializer',
                                    'weights_regularizer', 'activation_fn',
                                    'normalizer_fn', 'normalizer_params')
        if k in conv_kwargs}) as arg_sc:
      return arg_sc


def max_pool2d_ceil(inputs, kernel_size=3, stride=2, scope=None):
  """Max pool in Caffe's / PyTorch's `ceil_mode`, no padding.

  Output side `ceil((n - k) / s) + 1`: a last, partial window is kept where
  floor mode would drop it. It is made by padding the bottom/right with
  -inf (never the max) up to the last window's end, then a VALID pool.
  TF's 'SAME' pool agrees only on even sides (it pads both ends on odd).

  Args:
    inputs: `[batch, height, width, channels]`.
    kernel_size: window side k.
    stride: stride s.
    scope: optional name scope.

  Returns:
    `[batch, ceil((height - k) / s) + 1, ceil((width - k) / s) + 1, C]`.
  """
  with tf.name_scope(scope, 'MaxPoolCeil', [inputs]):
    shape = tf.shape(inputs)
    pads = [[0, 0]]
    for axis in (1, 2):
      side = inputs.get_shape()[axis].value
      if side is None:
        side = shape[axis]
      out = -(-(side - kernel_size) // stride) + 1  # ceil division
      pads.append([0, (out - 1) * stride + kernel_size - side])
    pads.append([0, 0])
    net = tf.pad(inputs, pads, constant_values=-float('inf'))
    return slim.max_pool2d(net, [kernel_size, kernel_size], stride=stride,
                           padding='VALID')


def root_block(inputs):
  """The released stem: 7x7/2 conv + BN + ReLU, 3x3/2 ceil-mode max pool.

  `conv2d_same` pads 3 on every side before a VALID conv (PyTorch's
  `padding=3`). 224 x 224 -> 112 x 112 x 64 -> 56 x 56 x 64.
  """
  net = resnet_utils.conv2d_same(inputs, 64, 7, stride=2, scope='conv1')
  return max_pool2d_ceil(net, 3, 2, scope='pool1')


@slim.add_arg_scope
def bottleneck(inputs, depth, depth_bottleneck, stride, rate=1, groups=1,
               stride_in_1x1=True, outputs_collections=None, scope=None,
               attention_module=None):
  """The released SE-ResNet / SE-ResNeXt bottleneck unit ([1], Fig. 3).

  residual = conv1 (1x1) -> conv2 (3x3, `groups`) -> conv3 (1x1, no ReLU)
             with the stride on conv1 (`stride_in_1x1`) or on conv2
  residual = attention(residual)   <- the unit's one attention point
  output   = relu(shortcut + residual)

  The shortcut is a 1x1 conv + batch norm (no ReLU) carrying the stride when
  the depth or resolution changes, the identity otherwise, as in the ports.

  Args:
    inputs: `[batch, height, width, channels]`.
    depth: output channels.
    depth_bottleneck: channels of conv1 and conv2.
    stride: the unit's stride.
    rate: atrous rate of conv2 (`output_stride`).
    groups: groups of conv2 (1: SE-ResNet, 32: SE-ResNeXt).
    stride_in_1x1: put the stride on conv1 (SE-ResNet) or on conv2.
    outputs_collections: collection for the unit's output.
    scope: variable scope; default 'bottleneck'.
    attention_module: None, or an `attention.Attention` (the factory binds
      the row's se_block, r=16).

  Returns:
    `[batch, ceil(height / stride), ceil(width / stride), depth]`.
  """
  with tf.variable_scope(scope, 'bottleneck', [inputs]) as sc:
    depth_in = slim.utils.last_dimension(inputs.get_shape(), min_rank=4)
    if depth != depth_in or stride != 1:
      # A strided 1x1 conv reads rows 0, s, 2s, ...: VALID, as PyTorch.
      shortcut = slim.conv2d(inputs, depth, [1, 1], stride=stride,
                             padding='VALID', activation_fn=None,
                             scope='shortcut')
    else:
      shortcut = inputs
    stride_1x1, stride_3x3 = (stride, 1) if stride_in_1x1 else (1, stride)
    residual = slim.conv2d(inputs, depth_bottleneck, [1, 1],
                           stride=stride_1x1, padding='VALID', scope='conv1')
    if groups == 1:
      residual = resnet_utils.conv2d_same(residual, depth_bottleneck, 3,
                                          stride_3x3, rate=rate, scope='conv2')
    else:
      residual = grouped_conv2d(residual, depth_bottleneck, 3, groups,
                                stride=stride_3x3, rate=rate, scope='conv2')
    residual = slim.conv2d(residual, depth, [1, 1], activation_fn=None,
                           scope='conv3')
    residual = resnet_common.unit_attention(residual, attention_module)
    output = tf.nn.relu(shortcut + residual)
    return slim.utils.collect_named_outputs(outputs_collections, sc.name,
                                            output)


def senet_blocks(depth, groups=1, width_factor=1, stride_in_1x1=True,
                 **unit_kwargs):
  """The four blocks of a released SENet of `depth` layers, as data.

  Widths and unit counts are `resnet_common`'s tables; the stride of block
  i is `BLOCK_STRIDES[i]`, in its first unit.

  Args:
    depth: a key of `UNITS_PER_BLOCK` (50, 101, 152).
    groups: groups of every conv2.
    width_factor: conv1/conv2 width over the table's base depth.
    stride_in_1x1: see `bottleneck`.
    **unit_kwargs: e.g. `attention_module`.

  Returns:
    A list of four `resnet_utils.Block`s of `bottleneck` units.

  Raises:
    ValueError: if `depth` is not in `UNITS_PER_BLOCK`.
  """
  if depth not in UNITS_PER_BLOCK:
    raise ValueError('Unknown ResNet depth %r; expected one of: %s' %
                     (depth, ', '.join(str(d) for d in sorted(UNITS_PER_BLOCK))))
  blocks = []
  for i, (base, units, stride) in enumerate(zip(
      resnet_common.BASE_DEPTHS, UNITS_PER_BLOCK[depth], BLOCK_STRIDES)):
    unit = dict(depth=4 * base, depth_bottleneck=width_factor * base,
                stride=1, groups=groups, stride_in_1x1=stride_in_1x1,
                **unit_kwargs)
    blocks.append(resnet_utils.Block('block%d' % (i + 1), bottleneck,
                                     [dict(unit, stride=stride)] +
                                     [unit] * (units - 1)))
  return blocks


def senet(inputs, blocks, num_classes=None, is_training=True,
          global_pool=True, output_stride=None, spatial_squeeze=True,
          reuse=None, scope=None):
  """Builds a released-topology SENet from `blocks`.

  `resnet_common.resnet` with this module's stem (`root_block`); see it for
  the arguments, outputs and end points. Note that with `output_stride`,
  Slim's stacker dilates from the unit after the one whose stride it drops.
  """
  return resnet_common.resnet(
      inputs, blocks, bottleneck, num_classes=num_classes,
      is_training=is_training, global_pool=global_pool,
      output_stride=output_stride, include_root_block=True,
      spatial_squeeze=spatial_squeeze, preactivation=False, reuse=reuse,
      scope=scope, default_scope='senet', root_block_fn=root_block)


senet.default_image_size = 224


def _make_builder(name, depth, **block_kwargs):
  """Returns the public builder of one released network."""

  def builder(inputs, num_classes=None, is_training=True, global_pool=True,
              output_stride=None, spatial_squeeze=True, reuse=None,
              scope=name, attention_module=None):
    blocks = senet_blocks(depth, attention_module=attention_module,
                          **block_kwargs)
    return senet(inputs, blocks, num_classes=num_classes,
                 is_training=is_training, global_pool=global_pool,
                 output_stride=output_stride,
                 spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope)

  builder.__name__ = name
  builder.__doc__ = (
      '%s: the released topology, units per block %s, %s; `attention_module`'
      ' (the factory row gives se_block, r=16) on every unit. Arguments as '
      '`resnet_common.make_depth_builder`\'s builders, without the depth '
      'multipliers.' % (name, UNITS_PER_BLOCK[depth], block_kwargs or
                        'stride on conv1'))
  builder.default_image_size = 224
  return builder


se_resnet50 = _make_builder('se_resnet50', 50)
se_resnet101 = _make_builder('se_resnet101', 101)
se_resnet152 = _make_builder('se_resnet152', 152)
se_resnext50_32x4d = _make_builder(
    'se_resnext50_32x4d', 50, groups=RESNEXT_GROUPS,
    width_factor=RESNEXT_WIDTH_FACTOR, stride_in_1x1=False)
se_resnext101_32x4d = _make_builder(
    'se_resnext101_32x4d', 101, groups=RESNEXT_GROUPS,
    width_factor=RESNEXT_WIDTH_FACTOR, stride_in_1x1=False)

# The released networks, by factory name.
MODELS = {fn.__name__: fn for fn in (se_resnet50, se_resnet101, se_resnet152,
                                     se_resnext50_32x4d, se_resnext101_32x4d)}
