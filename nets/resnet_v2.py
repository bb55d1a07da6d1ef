"""ResNet v2 [2] (full pre-activation bottleneck units), optionally with
Squeeze-and-Excitation on every unit ([3]).

Variable names, shapes, creation order and end points equal TF-Slim's
`resnet_v2_{50,101,152,200}` when `attention_module` is None, so Slim's
ImageNet checkpoints (1001 classes) load unchanged. With SE the only extra
variables are `<scope>/blockN/unit_M/bottleneck_v2/se/{fc1,fc2}/{weights,biases}`.

Slim's published v2 checkpoints were trained with inception preprocessing
at 299 x 299, although the nets' default size is 224.

References:
  [1] He et al., Deep Residual Learning for Image Recognition,
      arXiv:1512.03385.
  [2] He et al., Identity Mappings in Deep Residual Networks,
      arXiv:1603.05027.
  [3] Hu et al., Squeeze-and-Excitation Networks, arXiv:1709.01507.

Typical use:

    import tf_slim as slim
    from nets import resnet_v2

    # images: [batch, 224, 224, 3]
    with slim.arg_scope(resnet_v2.resnet_arg_scope()):
      logits, end_points = resnet_v2.resnet_v2_101(
          images, num_classes=1001, is_training=False,
          attention_module='se_block')
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf
import tf_slim as slim
from tf_slim.nets import resnet_utils

from nets import resnet_common

resnet_arg_scope = resnet_utils.resnet_arg_scope
UNITS_PER_BLOCK = resnet_common.UNITS_PER_BLOCK


@slim.add_arg_scope
def bottleneck(inputs,
               depth,
               depth_bottleneck,
               stride,
               rate=1,
               outputs_collections=None,
               scope=None,
               attention_module=None):
  """Pre-activation bottleneck unit ([2], Fig. 1b and 4e).

  preact   = relu(batch_norm(inputs))
  residual = conv1 (1x1) -> conv2 (3x3, stride) -> conv3 (1x1, biases only)
  residual = attention(residual)   <- the unit's attention point ([3])
  output   = shortcut + residual   (no activation: the next unit's preact)

  For the SE paper's placement ablation the module can sit elsewhere
  instead: on conv1's input (pre, after `preact`), on the output (post) or
  on the shortcut (identity); see `resnet_common.unit_attention`.

  Args:
    inputs: `[batch, height, width, channels]`.
    depth: output channels of the unit.
    depth_bottleneck: channels of conv1 and conv2.
    stride: the unit's stride (on conv2 and the shortcut).
    rate: atrous rate of conv2.
    outputs_collections: collection for the unit's output (an end point).
    scope: variable scope; default 'bottleneck_v2'.
    attention_module: None, or an `attention.Attention` (or bare name).

  Returns:
    `[batch, height / stride, width / stride, depth]`.
  """
  with tf.variable_scope(scope, 'bottleneck_v2', [inputs]) as sc:
    depth_in = slim.utils.last_dimension(inputs.get_shape(), min_rank=4)
    preact = slim.batch_norm(inputs, activation_fn=tf.nn.relu, scope='preact')
    if depth == depth_in:
      shortcut = resnet_utils.subsample(inputs, stride, 'shortcut')
    else:
      shortcut = slim.conv2d(preact, depth, [1, 1], stride=stride,
                             normalizer_fn=None, activation_fn=None,
                             scope='shortcut')
    shortcut = resnet_common.unit_attention(shortcut, attention_module,
                                            'identity')

    residual = resnet_common.unit_attention(preact, attention_module, 'pre')
    residual = slim.conv2d(residual, depth_bottleneck, [1, 1], stride=1,
                           scope='conv1')
    residual = resnet_utils.conv2d_same(residual, depth_bottleneck, 3, stride,
                                        rate=rate, scope='conv2')
    residual = slim.conv2d(residual, depth, [1, 1], stride=1,
                           normalizer_fn=None, activation_fn=None,
                           scope='conv3')
    residual = resnet_common.unit_attention(residual, attention_module)

    output = shortcut + residual
    output = resnet_common.unit_attention(output, attention_module, 'post')
    return slim.utils.collect_named_outputs(outputs_collections, sc.name,
                                            output)


def resnet_v2_block(scope, base_depth, num_units, stride,
                    attention_module=None):
  """A block of v2 bottleneck units as data; see `resnet_common.resnet_block`.

  `attention_module` goes into every unit's kwargs.
  """
  return resnet_common.resnet_block(
      bottleneck, scope, base_depth, num_units, stride,
      attention_module=attention_module)


def resnet_v2(inputs, blocks, num_classes=None, is_training=True,
              global_pool=True, output_stride=None, include_root_block=True,
              spatial_squeeze=True, reuse=None, scope=None,
              store_non_strided_activations=False):
  """Builds a v2 ResNet from `blocks`; see `resnet_common.resnet`.

  The stem conv has no batch norm or ReLU (the first unit's `preact` does
  that) and a `postnorm` batch norm + ReLU follows the last unit.
  """
  return resnet_common.resnet(
      inputs, blocks, bottleneck, num_classes=num_classes,
      is_training=is_training, global_pool=global_pool,
      output_stride=output_stride, include_root_block=include_root_block,
      spatial_squeeze=spatial_squeeze, preactivation=True, reuse=reuse,
      scope=scope, default_scope='resnet_v2',
      store_non_strided_activations=store_non_strided_activations)


resnet_v2.default_image_size = 224


# One builder per row of the depth table.
resnet_v2_50 = resnet_common.make_depth_builder('resnet_v2', 50, bottleneck,
                                                resnet_v2)
resnet_v2_101 = resnet_common.make_depth_builder('resnet_v2', 101, bottleneck,
                                                 resnet_v2)
resnet_v2_152 = resnet_common.make_depth_builder('resnet_v2', 152, bottleneck,
                                                 resnet_v2)
resnet_v2_200 = resnet_common.make_depth_builder('resnet_v2', 200, bottleneck,
                                                 resnet_v2)
