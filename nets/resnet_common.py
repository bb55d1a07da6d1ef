"""What ResNet v1 and v2 share: the depth table, block description, the stem
and the classification head, so each version only writes its bottleneck unit.

The units are described as data, as in Slim's `resnet_utils`: a network is a
list of `resnet_utils.Block(scope, unit_fn, [unit kwargs, ...])` and
`nets.resnet_utils.stack_blocks_dense` builds them unchanged. The
attention module travels inside each unit's kwargs, so the stacker needs no
change to build SE-ResNets [3].

References:
  [1] He et al., Deep Residual Learning for Image Recognition,
      arXiv:1512.03385.
  [2] He et al., Identity Mappings in Deep Residual Networks,
      arXiv:1603.05027.
  [3] Hu et al., Squeeze-and-Excitation Networks, arXiv:1709.01507.

Typical use (what `resnet_v1.py` does):

    blocks = resnet_common.blocks_for_depth(bottleneck, 50,
                                            attention_module='se_block')
    net, end_points = resnet_common.resnet(images, blocks, num_classes=1000,
                                           preactivation=False,
                                           scope='resnet_v1_50')
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import attention
from nets import resnet_utils

# Units per block for each depth; the same for v1 [1] and v2 [2].
UNITS_PER_BLOCK = {
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
    200: (3, 24, 36, 3),
}
# Bottleneck width of each block; the unit output is 4x this.
BASE_DEPTHS = (64, 128, 256, 512)
# Slim puts each block's stride in its last unit; block4 keeps the resolution.
BLOCK_STRIDES = (2, 2, 2, 1)


def resnet_block(unit_fn, scope, base_depth, num_units, stride,
                 **unit_kwargs):
  """Describes one ResNet block of bottleneck units as data.

  Args:
    unit_fn: the bottleneck unit function (v1 or v2).
    scope: the block's scope, e.g. 'block1'.
    base_depth: bottleneck width; each unit outputs `4 * base_depth` channels.
    num_units: number of units in the block.
    stride: stride of the block, applied in its last unit (others use 1).
    **unit_kwargs: extra kwargs for every unit, e.g. `attention_module` (one
      `attention.Attention` value); `stack_blocks_dense` forwards them
      untouched.

  Returns:
    A `resnet_utils.Block`.
  """
  unit = dict(depth=base_depth * 4, depth_bottleneck=base_depth, stride=1,
              **unit_kwargs)
  return resnet_utils.Block(
      scope, unit_fn, [unit] * (num_units - 1) + [dict(unit, stride=stride)])


def blocks_for_depth(unit_fn, depth, min_base_depth=8, depth_multiplier=1,
                     **unit_kwargs):
  """Returns the four blocks of a ResNet of `depth` layers.

  Args:
    unit_fn: the bottleneck unit function (v1 or v2).
    depth: one of `UNITS_PER_BLOCK` (50, 101, 152, 200).
    min_base_depth: smallest bottleneck width after `depth_multiplier`.
    depth_multiplier: scales every bottleneck width.
    **unit_kwargs: forwarded into every unit (see `resnet_block`).

  Returns:
    A list of four `resnet_utils.Block`s.

  Raises:
    ValueError: if `depth` is not in `UNITS_PER_BLOCK`.
  """
  if depth not in UNITS_PER_BLOCK:
    raise ValueError('Unknown ResNet depth %r; expected one of: %s' %
                     (depth, ', '.join(str(d) for d in sorted(UNITS_PER_BLOCK))))
  return [
      resnet_block(unit_fn, 'block%d' % (i + 1),
                   base_depth=max(int(base * depth_multiplier), min_base_depth),
                   num_units=units, stride=stride, **unit_kwargs)
      for i, (base, units, stride) in enumerate(
          zip(BASE_DEPTHS, UNITS_PER_BLOCK[depth], BLOCK_STRIDES))
  ]


def unit_attention(net, attention_module, position=attention.STANDARD):
  """Applies a unit's attention module at `position`, if it sits there.

  A ResNet unit calls this at each of its four candidate places, and the
  module is applied at the one its `Attention.position` names ([3], Sec. 6.5
  and Fig. 5):

    standard: on the residual branch after its last convolution (v1: after
              conv3's batch norm, no ReLU), before `shortcut + residual`, as
              in the SE-ResNet module ([3], Fig. 3);
    pre:      on the residual branch's input, before conv1 (the shortcut
              keeps the unit's input);
    post:     on the unit's output, after the addition (v1: after the ReLU);
    identity: on the shortcut, in parallel with the residual branch.

  Args:
    net: the tensor at `position`, `[batch, H, W, C]`.
    attention_module: None, or an `attention.Attention` (or bare name).
    position: which of `attention.POSITIONS` `net` is at.

  Returns:
    `net`, gated by the module if it sits at `position`.
  """
  return attention.apply_attention(attention_module, net, position=position)


class _NoOpScope(object):
  """A context manager that does nothing (for `is_training=None`)."""

  def __enter__(self):
    return None

  def __exit__(self, *args):
    return False


def resnet(inputs, blocks, unit_fn, num_classes=None, is_training=True,
           global_pool=True, output_stride=None, include_root_block=True,
           spatial_squeeze=True, preactivation=False, reuse=None, scope=None,
           default_scope='resnet', root_block_fn=None,
           store_non_strided_activations=False):
  """Builds a ResNet from `blocks`: stem, stacked units, head.

  Args:
    inputs: `[batch, height, width, channels]` images.
    blocks: list of `resnet_utils.Block`s, e.g. from `blocks_for_depth`.
    unit_fn: the blocks' unit function; its outputs are end points.
    num_classes: classes of the 1x1 logits conv; 0 or None returns the
      (pooled) features instead.
    is_training: batch norm mode; None leaves it to the caller's arg_scope.
    global_pool: average over H and W before the logits.
    output_stride: requested input/output resolution ratio (atrous
      convolution past it); must be a multiple of 4 with the root block.
    include_root_block: build the 7x7/2 conv and 3x3/2 max pool stem.
    spatial_squeeze: squeeze the `[batch, 1, 1, classes]` logits to
      `[batch, classes]`.
    preactivation: True for v2 [2]: the stem conv has neither batch norm nor
      ReLU (the first unit's `preact` does that) and a `postnorm` batch norm
      + ReLU follows the last unit.
    reuse: reuse the variables of `scope`.
    scope: variable scope, e.g. 'resnet_v1_50'.
    default_scope: the scope name used when `scope` is None.
    root_block_fn: optional `fn(inputs) -> net` replacing Slim's stem (still
      total stride 4), e.g. the released SENets' ceil-mode pooling stem.
    store_non_strided_activations: block end points at full resolution,
      before each block's stride (see `resnet_utils.stack_blocks_dense`).

  Returns:
    net: `[batch, num_classes]` logits with spatial_squeeze and global_pool,
      else `[batch, h, w, num_classes or channels]`.
    end_points: dict of activations, named as in TF-Slim (`<scope>/conv1`,
      every unit and its convs, `<scope>/blockN`, `global_pool`,
      `<scope>/logits`, `<scope>/spatial_squeeze`, `predictions`).

  Raises:
    ValueError: if `output_stride` is not a multiple of 4 (with the root
      block) or cannot be reached.
  """
  with tf.variable_scope(scope, default_scope, [inputs], reuse=reuse) as sc:
    end_points_collection = sc.original_name_scope + '_end_points'
    with slim.arg_scope([slim.conv2d, unit_fn, resnet_utils.stack_blocks_dense],
                        outputs_collections=end_points_collection):
      bn_scope = (slim.arg_scope([slim.batch_norm], is_training=is_training)
                  if is_training is not None else _NoOpScope())
      with bn_scope:
        net = inputs
        if include_root_block:
          if output_stride is not None:
            if output_stride % 4 != 0:
              raise ValueError('The output_stride needs to be a multiple of 4, '
                               'got %r' % (output_stride,))
            output_stride //= 4
          if root_block_fn is not None:
            net = root_block_fn(net)
          else:
            stem_kwargs = ({'activation_fn': None, 'normalizer_fn': None}
                           if preactivation else {})
            with slim.arg_scope([slim.conv2d], **stem_kwargs):
              net = resnet_utils.conv2d_same(net, 64, 7, stride=2,
                                             scope='conv1')
            net = slim.max_pool2d(net, [3, 3], stride=2, scope='pool1')
        # 56 x 56 x 64 at 224 input
        net = resnet_utils.stack_blocks_dense(
            net, blocks, output_stride,
            store_non_strided_activations=store_non_strided_activations)
        # 7 x 7 x 2048 at 224 input and nominal stride 32
        if preactivation:
          net = slim.batch_norm(net, activation_fn=tf.nn.relu, scope='postnorm')
        end_points = slim.utils.convert_collection_to_dict(
            end_points_collection)
        if global_pool:
          net = tf.reduce_mean(net, [1, 2], name='pool5', keepdims=True)
          end_points['global_pool'] = net
        if num_classes:
          net = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                            normalizer_fn=None, scope='logits')
          end_points[sc.name + '/logits'] = net
          if spatial_squeeze:
            net = tf.squeeze(net, [1, 2], name='SpatialSqueeze')
            end_points[sc.name + '/spatial_squeeze'] = net
          end_points['predictions'] = slim.softmax(net, scope='predictions')
        return net, end_points


def make_depth_builder(family, depth, unit_fn, generator):
  """Returns the public `<family>_<depth>` builder for one table row.

  The per-depth builders differ only in their row of `UNITS_PER_BLOCK` and
  their default scope, so they are made here instead of written out.

  Args:
    family: 'resnet_v1' or 'resnet_v2'.
    depth: a key of `UNITS_PER_BLOCK`.
    unit_fn: the family's bottleneck unit.
    generator: the family's `resnet_vN(inputs, blocks, ...)`.

  Returns:
    `builder(inputs, num_classes=None, is_training=True, global_pool=True,
    output_stride=None, spatial_squeeze=True,
    store_non_strided_activations=False, min_base_depth=8,
    depth_multiplier=1, reuse=None, scope='<family>_<depth>',
    attention_module=None) -> (logits, end_points)`,
    with logits `[batch, num_classes]` by default; `attention_module` is
    applied in every unit, where its position says (`unit_attention`). It raises ValueError for an
    unknown attention module or an unreachable `output_stride`.
  """
  name = '%s_%d' % (family, depth)

  def builder(inputs,
              num_classes=None,
              is_training=True,
              global_pool=True,
              output_stride=None,
              spatial_squeeze=True,
              store_non_strided_activations=False,
              min_base_depth=8,
              depth_multiplier=1,
              reuse=None,
              scope=name,
              attention_module=None):
    blocks = blocks_for_depth(
        unit_fn, depth, min_base_depth=min_base_depth,
        depth_multiplier=depth_multiplier, attention_module=attention_module)
    return generator(inputs, blocks, num_classes=num_classes,
                     is_training=is_training, global_pool=global_pool,
                     output_stride=output_stride, include_root_block=True,
                     spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope,
                     store_non_strided_activations=(
                         store_non_strided_activations))

  builder.__name__ = name
  builder.__doc__ = (
      '%s: %d layers, units per block %s; see `resnet_common.'
      'make_depth_builder` for the arguments.' %
      (name, depth, UNITS_PER_BLOCK[depth]))
  builder.default_image_size = 224
  return builder
