"""PNASNet-5 image classifiers [2]: Mobile (224) and Large (331).

PNASNet uses one cell, found by progressive search [2], for every position:
the network is NASNet's ImageNet stem (two stride-2 cells) and `num_cells`
cells in three stacks, where the first cell of the second and third stack is
the same cell run with stride 2 (there is no separate reduction cell). The
cell is an operation table (`PNASNET_5`) run by NASNet's cell class, and the
two models differ only in their configuration (a `nasnet.NasNetConfig`), so
one builder, `build_pnasnet`, makes both.

Variables have no top-level scope (`conv0/...`, `cell_stem_0/...`,
`cell_N/...`, `aux_N/aux_logits/...`, `final_layer/FC/...`) and, with end
points, equal TF-Slim's, so its published checkpoints load. The aux head is
built only when `is_training`; drop path (Large) reads the global step in
training and is off in evaluation. These models do not take an attention
module. `use_bounded_activation=True` in the config gives TF-Slim's ReLU6 /
clipped variant, as for NASNet (`nasnet_utils`).

References:
  [1] Zoph et al., Learning Transferable Architectures for Scalable Image
      Recognition, arXiv:1707.07012.
  [2] Liu et al., Progressive Neural Architecture Search, arXiv:1712.00559.

Typical use:

    import tf_slim as slim
    from nets.nasnet import pnasnet

    with slim.arg_scope(pnasnet.pnasnet_large_arg_scope()):
      logits, end_points = pnasnet.build_pnasnet_large(
          images, num_classes=1001, is_training=False)  # [N, 331, 331, 3]
    # logits: [N, 1001]; end_points['Cell_11']: [N, 11, 11, 4320]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

from nets.nasnet import nasnet
from nets.nasnet import nasnet_utils

# The PNASNet-5 cell ([2], Fig. 1): both inputs are used only inside the cell.
PNASNET_5 = nasnet_utils.CellSpec(
    operations=('separable_5x5_2', 'max_pool_3x3',
                'separable_7x7_2', 'max_pool_3x3',
                'separable_5x5_2', 'separable_3x3_2',
                'separable_3x3_2', 'max_pool_3x3',
                'separable_3x3_2', 'none'),
    hiddenstate_indices=(1, 1, 0, 0, 0, 0, 4, 0, 1, 0),
    used_hiddenstates=(1, 1, 0, 0, 0, 0, 0))

# PNASNet-5 Large: N=4 cells per stack, F=216 ([2], Sec. 5).
LARGE_IMAGENET_CONFIG = nasnet.NasNetConfig(
    stem_type='imagenet', stem_multiplier=3.0, num_cells=12,
    num_conv_filters=216, filter_scaling_rate=2.0, num_reduction_layers=2,
    skip_reduction_layer_input=1, use_aux_head=1, dense_dropout_keep_prob=0.5,
    drop_path_keep_prob=0.6, total_training_steps=250000, data_format='NHWC')

# PNASNet-5 Mobile: N=3 cells per stack, F=54 ([2], Sec. 5).
MOBILE_IMAGENET_CONFIG = nasnet.NasNetConfig(
    stem_type='imagenet', stem_multiplier=1.0, num_cells=9,
    num_conv_filters=54, filter_scaling_rate=2.0, num_reduction_layers=2,
    skip_reduction_layer_input=1, use_aux_head=1, dense_dropout_keep_prob=0.5,
    drop_path_keep_prob=1.0, total_training_steps=250000, data_format='NHWC')


def large_imagenet_config():
  """A fresh copy of the PNASNet-5 Large config, for the caller to edit."""
  return LARGE_IMAGENET_CONFIG._replace()


def mobile_imagenet_config():
  """A fresh copy of the PNASNet-5 Mobile config, for the caller to edit."""
  return MOBILE_IMAGENET_CONFIG._replace()


def pnasnet_large_arg_scope(weight_decay=4e-5, batch_norm_decay=0.9997,
                            batch_norm_epsilon=1e-3):
  """Returns the arg_scope of PNASNet-5 Large (NASNet's, with these defaults).

  Args:
    weight_decay: L2 coefficient of conv, separable conv and FC weights.
    batch_norm_decay: decay of the batch-norm moving averages.
    batch_norm_epsilon: added to the variance in batch norm.

  Returns:
    An arg_scope; see `nasnet.nasnet_cifar_arg_scope`.
  """
  return nasnet.nasnet_large_arg_scope(weight_decay, batch_norm_decay,
                                       batch_norm_epsilon)


def pnasnet_mobile_arg_scope(weight_decay=4e-5, batch_norm_decay=0.9997,
                             batch_norm_epsilon=1e-3):
  """Returns the arg_scope of PNASNet-5 Mobile; see pnasnet_large_arg_scope."""
  return nasnet.nasnet_mobile_arg_scope(weight_decay, batch_norm_decay,
                                        batch_norm_epsilon)


class PNasNetNormalCell(nasnet_utils.NasNetABaseCell):
  """The PNASNet-5 cell; run with stride 2 where the stacks change."""

  def __init__(self, num_conv_filters, drop_path_keep_prob, total_num_cells,
               total_training_steps, use_bounded_activation=False,
               data_format='NHWC'):
    super(PNasNetNormalCell, self).__init__(
        PNASNET_5, num_conv_filters, drop_path_keep_prob, total_num_cells,
        total_training_steps, use_bounded_activation=use_bounded_activation,
        data_format=data_format)


def _endpoint_names(config):
  """The end points `build_pnasnet` can stop at, in build order."""
  cells = ['Cell_{}'.format(n) for n in range(config.num_cells)]
  return ['Stem'] + cells + ['global_pool', 'Logits', 'Predictions']


def build_pnasnet(images, num_classes, is_training=True, config=None,
                  final_endpoint=None, current_step=None):
  """Builds a PNASNet network [2] from a `nasnet.NasNetConfig`.

  Args:
    images: `[batch, height, width, 3]` float tensor (always NHWC; it is
      transposed for a 'NCHW' config). Height and width must be static.
    num_classes: number of logits; 0 or None returns the `[batch, C]`
      globally pooled features and builds no aux head.
    is_training: training mode: batch-norm statistics, dropout, drop path
      (reading the global step) and the aux head.
    config: a `nasnet.NasNetConfig` with stem_type 'imagenet'; None means
      `MOBILE_IMAGENET_CONFIG`.
    final_endpoint: stop after this end point ('Stem', 'Cell_n',
      'global_pool', 'Logits', 'Predictions') and return it.
    current_step: scalar step tensor for drop path's schedule; None reads
      the global step.

  Returns:
    `(logits, end_points)`: logits `[batch, num_classes]` (or the requested
    end point), and a dict of end points in build order: 'Stem', 'Cell_n'
    for each cell, 'AuxLogits' (training only), 'global_pool', 'Logits',
    'Predictions'.

  Raises:
    ValueError: for an unknown `final_endpoint` or `data_format`, a stem_type
      other than 'imagenet', images without a static size, or images too
      small for the aux head.
  """
  config = MOBILE_IMAGENET_CONFIG if config is None else config
  if config.stem_type != 'imagenet':
    raise ValueError("PNASNet takes stem_type 'imagenet' only; got %r" %
                     (config.stem_type,))
  images, config, current_step = nasnet.prepare(images, config, is_training,
                                                current_step)
  recorder = nasnet.EndPoints(final_endpoint, _endpoint_names(config))
  cell = PNasNetNormalCell(
      config.num_conv_filters, config.drop_path_keep_prob,
      config.num_cells + 2,  # the cells plus the two stem cells
      config.total_training_steps,
      use_bounded_activation=config.use_bounded_activation,
      data_format=config.data_format)
  with nasnet.model_arg_scope(is_training, config.data_format):
    net, cell_outputs = nasnet.imagenet_stem(images, config, cell,
                                             current_step)
    if recorder.add('Stem', net):
      return net, recorder.end_points

    reductions = nasnet_utils.calc_reduction_layers(
        config.num_cells, config.num_reduction_layers)
    aux_cell = nasnet.aux_head_cell(config)
    filter_scaling = 1.0
    true_cell_num = 2  # the stem cells come first
    prev_layer = None
    for cell_num in range(config.num_cells):
      is_reduction = cell_num in reductions
      if is_reduction:
        filter_scaling *= config.filter_scaling_rate
      # As in TF-Slim: without skip_reduction_layer_input a strided cell keeps
      # the previous cell's prev_layer.
      if config.skip_reduction_layer_input or not is_reduction:
        prev_layer = cell_outputs[-2]
      net = cell(net, scope='cell_{}'.format(cell_num),
                 filter_scaling=filter_scaling,
                 stride=2 if is_reduction else 1, prev_layer=prev_layer,
                 cell_num=true_cell_num, current_step=current_step)
      if recorder.add('Cell_{}'.format(cell_num), net):
        return net, recorder.end_points
      true_cell_num += 1
      cell_outputs.append(net)
      if (config.use_aux_head and cell_num == aux_cell and num_classes and
          is_training):
        activation = nasnet_utils.activation_fn(config.use_bounded_activation)
        nasnet.build_aux_head(activation(net), recorder.end_points,
                              num_classes, config,
                              scope='aux_{}'.format(cell_num))

    logits = nasnet.final_layer(net, recorder, num_classes, config)
  return logits, recorder.end_points


build_pnasnet_mobile = nasnet.variant(
    build_pnasnet, MOBILE_IMAGENET_CONFIG, 224, 'build_pnasnet_mobile',
    """PNASNet-5 Mobile: 224x224 inputs, 9 cells of 54 filters [2].

  Args and returns as `build_pnasnet`; `config` defaults to
  `MOBILE_IMAGENET_CONFIG`. End points at 224: 'Stem' 28x28x135, cells
  28x28x270, 14x14x540 and 7x7x1080, 'global_pool' `[batch, 1080]`.
  """)

build_pnasnet_large = nasnet.variant(
    build_pnasnet, LARGE_IMAGENET_CONFIG, 331, 'build_pnasnet_large',
    """PNASNet-5 Large: 331x331 inputs, 12 cells of 216 filters [2].

  Args and returns as `build_pnasnet`; `config` defaults to
  `LARGE_IMAGENET_CONFIG`. End points at 331: 'Stem' 42x42x540, cells
  42x42x1080, 21x21x2160 and 11x11x4320, 'global_pool' `[batch, 4320]`.
  """)
