"""ResNet v1 [1] (bottleneck units, batch norm after every conv), optionally
with Squeeze-and-Excitation on every unit (SE-ResNet, [3]).

Variable names, shapes, creation order and end points equal TF-Slim's
`resnet_v1_{50,101,152,200}` when `attention_module` is None, so Slim's
ImageNet checkpoints (1000 classes: use `--labels_offset=1`) load unchanged.
With SE the only extra variables are
`<scope>/blockN/unit_M/bottleneck_v1/se/{fc1,fc2}/{weights,biases}`.

References:
  [1] He et al., Deep Residual Learning for Image Recognition,
      arXiv:1512.03385.
  [2] He et al., Identity Mappings in Deep Residual Networks,
      arXiv:1603.05027 (ResNet-200).
  [3] Hu et al., Squeeze-and-Excitation Networks, arXiv:1709.01507.

Typical use:

    import tf_slim as slim
    from nets import resnet_v1

    # images: [batch, 224, 224, 3]
    with slim.arg_scope(resnet_v1.resnet_arg_scope()):
      logits, end_points = resnet_v1.resnet_v1_50(
          images, num_classes=1000, is_training=False,
          attention_module='se_block')          # SE-ResNet-50
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
               use_bounded_activations=False,
               attention_module=None):
  """Bottleneck unit with batch norm after each conv ([1], Fig. 5 right).

  residual = conv1 (1x1) -> conv2 (3x3, stride) -> conv3 (1x1, no ReLU)
  residual = attention(residual)   <- the unit's attention point ([3])
  output   = relu(shortcut + residual)

  For the SE paper's placement ablation the module can sit elsewhere
  instead: on conv1's input (pre), on the output (post) or on the shortcut
  (identity); see `resnet_common.unit_attention`.

  Args:
    inputs: `[batch, height, width, channels]`.
    depth: output channels of the unit.
    depth_bottleneck: channels of conv1 and conv2.
    stride: the unit's stride (on conv2 and the shortcut).
    rate: atrous rate of conv2.
    outputs_collections: collection for the unit's output (an end point).
    scope: variable scope; default 'bottleneck_v1'.
    use_bounded_activations: relu6 and clipping, for quantized inference.
    attention_module: None, or an `attention.Attention` (or bare name).

  Returns:
    `[batch, height / stride, width / stride, depth]`.
  """
  with tf.variable_scope(scope, 'bottleneck_v1', [inputs]) as sc:
    depth_in = slim.utils.last_dimension(inputs.get_shape(), min_rank=4)
    if depth == depth_in:
      shortcut = resnet_utils.subsample(inputs, stride, 'shortcut')
    else:
      shortcut = slim.conv2d(
          inputs, depth, [1, 1], stride=stride,
          activation_fn=tf.nn.relu6 if use_bounded_activations else None,
          scope='shortcut')
    shortcut = resnet_common.unit_attention(shortcut, attention_module,
                                            'identity')

    residual = resnet_common.unit_attention(inputs, attention_module, 'pre')
    residual = slim.conv2d(residual, depth_bottleneck, [1, 1], stride=1,
                           scope='conv1')
    residual = resnet_utils.conv2d_same(residual, depth_bottleneck, 3, stride,
                                        rate=rate, scope='conv2')
    residual = slim.conv2d(residual, depth, [1, 1], stride=1,
                           activation_fn=None, scope='conv3')
    residual = resnet_common.unit_attention(residual, attention_module)

    if use_bounded_activations:
      residual = tf.clip_by_value(residual, -6.0, 6.0)
      output = tf.nn.relu6(shortcut + residual)
    else:
      output = tf.nn.relu(shortcut + residual)
    output = resnet_common.unit_attention(output, attention_module, 'post')
    return slim.utils.collect_named_outputs(outputs_collections, sc.name,
                                            output)


def resnet_v1_block(scope, base_depth, num_units, stride,
                    attention_module=None):
  """A block of v1 bottleneck units as data; see `resnet_common.resnet_block`.

  `attention_module` goes into every unit's kwargs.
  """
  return resnet_common.resnet_block(
      bottleneck, scope, base_depth, num_units, stride,
      attention_module=attention_module)


def resnet_v1(inputs, blocks, num_classes=None, is_training=True,
              global_pool=True, output_stride=None, include_root_block=True,
              spatial_squeeze=True, store_non_strided_activations=False,
              reuse=None, scope=None):
  """Builds a v1 ResNet from `blocks`; see `resnet_common.resnet`.

  `store_non_strided_activations` (TF-Slim's option) makes the block end
  points full-resolution: each block's last unit runs at stride 1 and the
  block subsamples afterwards.
  """
  return resnet_common.resnet(
      inputs, blocks, bottleneck, num_classes=num_classes,
      is_training=is_training, global_pool=global_pool,
      output_stride=output_stride, include_root_block=include_root_block,
      spatial_squeeze=spatial_squeeze, preactivation=False, reuse=reuse,
      scope=scope, default_scope='resnet_v1',
      store_non_strided_activations=store_non_strided_activations)


resnet_v1.default_image_size = 224


# One builder per row of the depth table.
resnet_v1_50 = resnet_common.make_depth_builder('resnet_v1', 50, bottleneck,
                                                resnet_v1)
resnet_v1_101 = resnet_common.make_depth_builder('resnet_v1', 101, bottleneck,
                                                 resnet_v1)
resnet_v1_152 = resnet_common.make_depth_builder('resnet_v1', 152, bottleneck,
                                                 resnet_v1)
resnet_v1_200 = resnet_common.make_depth_builder('resnet_v1', 200, bottleneck,
                                                 resnet_v1)
