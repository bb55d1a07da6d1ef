"""ResNet building blocks under TF-Slim's name `nets.resnet_utils`.

`Block`, `subsample` and `conv2d_same` are `tf_slim.nets.resnet_utils`' own,
re-exported. `stack_blocks_dense` is ours because tf_slim's lacks
research/slim's `store_non_strided_activations` option; with that option off
it builds the same scopes and ops as tf_slim's. `resnet_arg_scope` is ours
because tf_slim's lacks research/slim's `activation_fn`, `use_batch_norm` and
`batch_norm_updates_collections`; with their defaults it sets what tf_slim's
does.

Blocks subsample in their last unit (not the first, as [1]'s reference code
does); the two give identical results and this is lighter on memory.

References:
  [1] He et al., Deep Residual Learning for Image Recognition,
      arXiv:1512.03385.
  [2] He et al., Identity Mappings in Deep Residual Networks,
      arXiv:1603.05027.
  [3] Chen et al., DeepLab: Semantic Image Segmentation with Deep
      Convolutional Nets, Atrous Convolution, and Fully Connected CRFs,
      arXiv:1606.00915 (atrous convolution for a chosen output stride).

Typical use:

    from nets import resnet_utils, resnet_v1

    blocks = [resnet_v1.resnet_v1_block('block1', base_depth=64, num_units=3,
                                        stride=2), ...]
    net = resnet_utils.stack_blocks_dense(net, blocks, output_stride=16)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf
import tf_slim as slim
from tf_slim.nets import resnet_utils as _tf_slim_resnet_utils

Block = _tf_slim_resnet_utils.Block
subsample = _tf_slim_resnet_utils.subsample
conv2d_same = _tf_slim_resnet_utils.conv2d_same


def resnet_arg_scope(weight_decay=0.0001,
                     batch_norm_decay=0.997,
                     batch_norm_epsilon=1e-5,
                     batch_norm_scale=True,
                     activation_fn=tf.nn.relu,
                     use_batch_norm=True,
                     batch_norm_updates_collections=tf.GraphKeys.UPDATE_OPS):
  """The ResNet arg scope of research/slim (a superset of tf_slim's).

  Its batch-norm defaults suit the reference models of [1]; training from
  scratch may need others.

  Args:
    weight_decay: L2 coefficient of the conv weights.
    batch_norm_decay: moving-average decay of batch norm.
    batch_norm_epsilon: added to the variance in batch norm.
    batch_norm_scale: whether batch norm learns a `gamma`.
    activation_fn: activation of the convolutions.
    use_batch_norm: whether the convolutions are followed by batch norm
      (False: biases instead).
    batch_norm_updates_collections: collection of the moving-average update
      ops (None: update in place).

  Returns:
    An `arg_scope` for conv2d, batch_norm and max_pool2d (SAME padding, as
    in TF-Slim, which eases feature alignment for dense prediction).
  """
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'scale': batch_norm_scale,
      'updates_collections': batch_norm_updates_collections,
  }
  with slim.arg_scope(
      [slim.conv2d],
      weights_regularizer=slim.l2_regularizer(weight_decay),
      weights_initializer=slim.variance_scaling_initializer(),
      activation_fn=activation_fn,
      normalizer_fn=slim.batch_norm if use_batch_norm else None,
      normalizer_params=batch_norm_params):
    with slim.arg_scope([slim.batch_norm], **batch_norm_params):
      with slim.arg_scope([slim.max_pool2d], padding='SAME') as arg_sc:
        return arg_sc

_UNREACHABLE = 'The target output_stride cannot be reached.'


@slim.add_arg_scope
def stack_blocks_dense(net, blocks, output_stride=None,
                       store_non_strided_activations=False,
                       outputs_collections=None):
  """Stacks ResNet `Block`s, scoped `<block.scope>/unit_<i>`.

  Past the requested `output_stride` every further stride becomes an atrous
  rate ([3]), so the features stay at that resolution.

  Args:
    net: `[batch, height, width, channels]`.
    blocks: list of `Block`s; each unit's kwargs go to `block.unit_fn`.
    output_stride: None for the nominal stride, else the ratio of input to
      output resolution; it must be a product of unit strides from the start.
    store_non_strided_activations: if True, each block's last unit runs at
      stride 1 and the block's end point is that full-resolution activation;
      the block then subsamples it (1x1 max pool) by the unit's stride. This
      gives dense prediction finer features at 4x the cost of those units.
    outputs_collections: collection of the block end points.

  Returns:
    `[batch, height / s, width / s, depth]` with s = `output_stride` (or the
    nominal stride).

  Raises:
    ValueError: if `output_stride` cannot be reached.
  """
  current_stride = 1  # effective stride of `net` so far
  rate = 1  # atrous rate once `output_stride` is reached
  for block in blocks:
    with tf.variable_scope(block.scope, 'block', [net]) as sc:
      block_stride = 1
      for i, unit in enumerate(block.args):
        if store_non_strided_activations and i == len(block.args) - 1:
          block_stride = unit.get('stride', 1)
          unit = dict(unit, stride=1)
        with tf.variable_scope('unit_%d' % (i + 1), values=[net]):
          if output_stride is not None and current_stride == output_stride:
            net = block.unit_fn(net, rate=rate, **dict(unit, stride=1))
            rate *= unit.get('stride', 1)
          else:
            net = block.unit_fn(net, rate=1, **unit)
            current_stride *= unit.get('stride', 1)
            if output_stride is not None and current_stride > output_stride:
              raise ValueError(_UNREACHABLE)
      net = slim.utils.collect_named_outputs(outputs_collections, sc.name, net)
      # The stride held back from the last unit (store_non_strided_...).
      if output_stride is not None and current_stride == output_stride:
        rate *= block_stride
      else:
        net = subsample(net, block_stride)
        current_stride *= block_stride
        if output_stride is not None and current_stride > output_stride:
          raise ValueError(_UNREACHABLE)
  if output_stride is not None and current_stride != output_stride:
    raise ValueError(_UNREACHABLE)
  return net
