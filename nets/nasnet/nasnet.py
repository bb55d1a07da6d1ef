"""NASNet-A image classifiers [1]: CIFAR, Mobile (224) and Large (331).

A NASNet is a stem followed by three stacks of normal cells with a reduction
cell (stride 2, filters doubled) between stacks; an auxiliary classifier sits
before the second reduction during training. The three published models
differ only in their configuration (`NasNetConfig`: cells, filters, stem, drop
path), so one builder, `build_nasnet`, makes all of them and
`build_nasnet_cifar/mobile/large` are thin wrappers with TF-Slim's names and
defaults. The cells themselves are operation tables (`nasnet_utils`).

Variables have no top-level scope (`conv0/...`, `cell_stem_0/...`,
`cell_N/...`, `reduction_cell_N/...`, `aux_N/aux_logits/...`,
`final_layer/FC/...`) and, with end points, equal TF-Slim's, so its published
checkpoints load. These models do not take an attention module.

`use_bounded_activation=True` in the config builds TF-Slim's variant for
quantized inference: ReLU6 for every ReLU (cells, aux head, final layer),
clipped cell operations and ReLU6 sums (see `nasnet_utils`); the variables
do not change.

Training mode differs from evaluation in two ways, as in TF-Slim: the
auxiliary head (`aux_N`, end point `AuxLogits`) is built only when
`is_training`, and drop path (CIFAR, Large) reads the global step to ramp up
over `total_training_steps`; with `is_training=False` drop path is off and the
global step is not read.

References:
  [1] Zoph et al., Learning Transferable Architectures for Scalable Image
      Recognition, arXiv:1707.07012.

Typical use:

    import tf_slim as slim
    from nets.nasnet import nasnet

    with slim.arg_scope(nasnet.nasnet_mobile_arg_scope()):
      logits, end_points = nasnet.build_nasnet_mobile(
          images, num_classes=1001, is_training=True)  # [N, 224, 224, 3]
    # logits: [N, 1001]; end_points['AuxLogits']: [N, 1001]

    # A smaller variant: the configuration is data.
    config = nasnet.mobile_imagenet_config()
    config.set_hparam('num_cells', 6)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import contextlib

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import hparams
from nets.nasnet import nasnet_utils

STEM_TYPES = ('cifar', 'imagenet')

# The fields of a NASNet/PNASNet configuration. TF-Slim's configs are
# HParams that callers edit (`config.set_hparam('use_aux_head', 0)`), so
# ours are too (`nets.hparams.HParams`).
CONFIG_FIELDS = (
    'stem_type',  # 'imagenet': conv0 + 2 stem cells; 'cifar': one conv
    'stem_multiplier',  # stem filters = 32 (imagenet) or F (cifar) x this
    'num_cells',  # normal cells in all three stacks
    'num_conv_filters',  # F: filters per hidden state in the first stack
    'filter_scaling_rate',  # filter multiplier at each reduction
    'num_reduction_layers',  # reductions between the stacks
    'skip_reduction_layer_input',  # cell after a reduction skips its input
    'use_aux_head',  # build the auxiliary classifier when training
    'dense_dropout_keep_prob',  # dropout before the final layer
    'drop_path_keep_prob',  # ScheduledDropPath; 1.0 is off
    'total_training_steps',  # steps over which drop path ramps up
    'data_format',  # 'NHWC' or 'NCHW'
    'use_bounded_activation',  # TF-Slim's relu6 + clipping (quantization)
)


# pylint: disable=invalid-name (TF-Slim-era name of a config type)
def NasNetConfig(use_bounded_activation=False, **fields):
  """Returns an `HParams` NASNet/PNASNet configuration.

  Args:
    use_bounded_activation: TF-Slim's quantization-friendly variant: ReLU6
      activations and clipped cell operations (`nasnet_utils`).
    **fields: every other name of `CONFIG_FIELDS`.

  Raises:
    ValueError: if a field is missing or unknown.
  """
  fields['use_bounded_activation'] = use_bounded_activation
  if set(fields) != set(CONFIG_FIELDS):
    raise ValueError('NasNetConfig needs exactly the fields %s; missing %s, '
                     'unknown %s' % (', '.join(CONFIG_FIELDS),
                                     sorted(set(CONFIG_FIELDS) - set(fields)),
                                     sorted(set(fields) - set(CONFIG_FIELDS))))
  return hparams.HParams(**{name: fields[name] for name in CONFIG_FIELDS})
# pylint: enable=invalid-name


# NASNet-A 6@768 for CIFAR-10 ([1], Table 1). Trained with batch 32, lr 0.025
# cosine decay, aux loss weight 0.4, gradient clipping 5, 600 epochs.
CIFAR_CONFIG = NasNetConfig(
    stem_type='cifar', stem_multiplier=3.0, num_cells=18,
    num_conv_filters=32, filter_scaling_rate=2.0, num_reduction_layers=2,
    skip_reduction_layer_input=0, use_aux_head=1, dense_dropout_keep_prob=1.0,
    drop_path_keep_prob=0.6, total_training_steps=937500, data_format='NHWC')

# NASNet-A 4@1056, "NASNet-Mobile" ([1], Table 3).
MOBILE_IMAGENET_CONFIG = NasNetConfig(
    stem_type='imagenet', stem_multiplier=1.0, num_cells=12,
    num_conv_filters=44, filter_scaling_rate=2.0, num_reduction_layers=2,
    skip_reduction_layer_input=0, use_aux_head=1, dense_dropout_keep_prob=0.5,
    drop_path_keep_prob=1.0, total_training_steps=250000, data_format='NHWC')

# NASNet-A 6@4032, "NASNet-Large" ([1], Table 2).
LARGE_IMAGENET_CONFIG = NasNetConfig(
    stem_type='imagenet', stem_multiplier=3.0, num_cells=18,
    num_conv_filters=168, filter_scaling_rate=2.0, num_reduction_layers=2,
    skip_reduction_layer_input=1, use_aux_head=1, dense_dropout_keep_prob=0.5,
    drop_path_keep_prob=0.7, total_training_steps=250000, data_format='NHWC')


def cifar_config():
  """A fresh copy of the NASNet-A CIFAR config, for the caller to edit."""
  return CIFAR_CONFIG._replace()


def mobile_imagenet_config():
  """A fresh copy of the NASNet-A Mobile config, for the caller to edit."""
  return MOBILE_IMAGENET_CONFIG._replace()


def large_imagenet_config():
  """A fresh copy of the NASNet-A Large config, for the caller to edit."""
  return LARGE_IMAGENET_CONFIG._replace()


def _nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon):
  """The arg_scope shared by NASNet-A and PNASNet; only defaults differ."""
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'scale': True,
      'fused': True,
  }
  layers = [slim.fully_connected, slim.conv2d, slim.separable_conv2d]
  with slim.arg_scope(
      layers,
      weights_regularizer=slim.l2_regularizer(weight_decay),
      weights_initializer=slim.variance_scaling_initializer(mode='FAN_OUT')):
    with slim.arg_scope([slim.fully_connected], activation_fn=None):
      with slim.arg_scope([slim.conv2d, slim.separable_conv2d],
                          activation_fn=None, biases_initializer=None):
        with slim.arg_scope([slim.batch_norm], **batch_norm_params) as sc:
          return sc


def nasnet_cifar_arg_scope(weight_decay=5e-4, batch_norm_decay=0.9,
                           batch_norm_epsilon=1e-5):
  """Returns the arg_scope of NASNet-A CIFAR.

  Args:
    weight_decay: L2 coefficient of conv, separable conv and FC weights.
    batch_norm_decay: decay of the batch-norm moving averages.
    batch_norm_epsilon: added to the variance in batch norm.

  Returns:
    An arg_scope: FAN_OUT variance-scaling initializer, no conv biases or
    activations (cells apply ReLU themselves), batch norm with `gamma`.
  """
  return _nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def nasnet_mobile_arg_scope(weight_decay=4e-5, batch_norm_decay=0.9997,
                            batch_norm_epsilon=1e-3):
  """Returns the arg_scope of NASNet-A Mobile; see `nasnet_cifar_arg_scope`."""
  return _nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def nasnet_large_arg_scope(weight_decay=5e-5, batch_norm_decay=0.9997,
                           batch_norm_epsilon=1e-3):
  """Returns the arg_scope of NASNet-A Large; see `nasnet_cifar_arg_scope`."""
  return _nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def check_config(config):
  """Raises ValueError for a config with an unknown stem type or layout."""
  if config.stem_type not in STEM_TYPES:
    raise ValueError('Unknown stem_type %r; expected one of: %s' %
                     (config.stem_type, ', '.join(STEM_TYPES)))
  nasnet_utils.check_data_format(config.data_format)


def prepare(images, config, is_training, current_step):
  """Shared set-up of the NASNet and PNASNet builders.

  Turns drop path off for evaluation, transposes NHWC `images` for NCHW and,
  when drop path is on in training, creates (or gets) the global step before
  any cell scope is opened, so that it is named `global_step`.

  Returns:
    `(images, config, current_step)`.
  """
  check_config(config)
  if not is_training:
    config = config._replace(drop_path_keep_prob=1.0)
  if config.data_format == 'NCHW':
    images = tf.transpose(images, [0, 3, 1, 2])
  if (is_training and config.drop_path_keep_prob < 1.0 and
      current_step is None):
    current_step = tf.train.get_or_create_global_step()
  return images, config, current_step


@contextlib.contextmanager
def model_arg_scope(is_training, data_format):
  """Sets training mode, data format and the bias-free, linear convs."""
  with slim.arg_scope([slim.dropout, slim.batch_norm, nasnet_utils.drop_path],
                      is_training=is_training):
    with slim.arg_scope([slim.avg_pool2d, slim.max_pool2d, slim.conv2d,
                         slim.separable_conv2d, slim.batch_norm,
                         nasnet_utils.get_channel_index,
                         nasnet_utils.get_channel_dim],
                        data_format=data_format):
      with slim.arg_scope([slim.conv2d, slim.separable_conv2d],
                          activation_fn=None, biases_initializer=None):
        yield


class EndPoints(object):
  """Collects end points in order and tells when `final_endpoint` is hit."""

  def __init__(self, final_endpoint, valid_names):
    if final_endpoint is not None and final_endpoint not in valid_names:
      raise ValueError('Unknown final_endpoint %r; expected one of: %s' %
                       (final_endpoint, ', '.join(valid_names)))
    self.final_endpoint = final_endpoint
    self.end_points = {}

  def add(self, name, net):
    """Records `net` as `name`; returns True if the build should stop."""
    self.end_points[name] = net
    return name == self.final_endpoint


def imagenet_stem(images, config, stem_cell, current_step=None):
  """The ImageNet stem: conv0 (3x3/2, VALID) then two stride-2 stem cells.

  Args:
    images: `[batch, H, W, 3]` (NCHW if so configured).
    config: a `NasNetConfig`.
    stem_cell: the cell to run twice (NASNet: the reduction cell; PNASNet:
      its one cell), at 1/4 and 1/2 of `num_conv_filters`.
    current_step: step tensor for drop path, or None.

  Returns:
    `(net, cell_outputs)`: the stem output at about H/8 (28 x 28 for 224,
    42 x 42 for 331) and the list `[None, conv0, cell_stem_0, cell_stem_1]`.
  """
  net = slim.conv2d(images, int(32 * config.stem_multiplier), [3, 3],
                    stride=2, padding='VALID', scope='conv0')
  net = slim.batch_norm(net, scope='conv0_bn')  # 111 x 111 for 224 inputs
  cell_outputs = [None, net]
  filter_scaling = 1.0 / config.filter_scaling_rate**2
  for cell_num in range(2):
    net = stem_cell(net, scope='cell_stem_{}'.format(cell_num),
                    filter_scaling=filter_scaling, stride=2,
                    prev_layer=cell_outputs[-2], cell_num=cell_num,
                    current_step=current_step)
    cell_outputs.append(net)
    filter_scaling *= config.filter_scaling_rate
  return net, cell_outputs


def _cifar_stem(images, config):
  """The CIFAR stem: one 3x3 conv with BN at full resolution."""
  net = slim.conv2d(images,
                    int(config.num_conv_filters * config.stem_multiplier), 3,
                    scope='l1_stem_3x3')
  net = slim.batch_norm(net, scope='l1_stem_bn')
  return net, [None, net]


def aux_head_cell(config):
  """Index of the cell the aux head reads (the last before reduction 2)."""
  reductions = nasnet_utils.calc_reduction_layers(
      config.num_cells, config.num_reduction_layers)
  return reductions[1] - 1 if len(reductions) >= 2 else None


def build_aux_head(net, end_points, num_classes, config, scope):
  """Builds the auxiliary classifier on `net` and stores 'AuxLogits'.

  AvgPool 5x5/3 (VALID), 1x1 conv to 128 + BN + ReLU, a conv over the whole
  remaining map to 768 + BN + ReLU, then a linear layer ([1], Appendix A).
  ReLU6 with `config.use_bounded_activation`.

  Args:
    net: `[batch, H, W, C]` activations, H and W at least 5.
    end_points: dict that receives `AuxLogits`, `[batch, num_classes]`.
    num_classes: number of logits.
    config: a `NasNetConfig` (for `data_format`, `use_bounded_activation`).
    scope: e.g. 'aux_7'.

  Raises:
    ValueError: if `net` is smaller than the 5x5 pooling window.
  """
  height, width = nasnet_utils.spatial_shape(net, config.data_format)
  if min(height, width) < 5:
    raise ValueError('The aux head (%s) needs a feature map of at least 5x5; '
                     'got %dx%d: use larger images or is_training=False' %
                     (scope, height, width))
  activation = nasnet_utils.activation_fn(config.use_bounded_activation)
  with tf.variable_scope(scope):
    with tf.variable_scope('aux_logits'):
      aux = slim.avg_pool2d(net, [5, 5], stride=3, padding='VALID')
      aux = slim.conv2d(aux, 128, [1, 1], scope='proj')
      aux = activation(slim.batch_norm(aux, scope='aux_bn0'))
      kernel = nasnet_utils.spatial_shape(aux, config.data_format)
      aux = slim.conv2d(aux, 768, kernel, padding='VALID', scope='Conv')
      aux = activation(slim.batch_norm(aux, scope='aux_bn1'))
      aux = slim.flatten(aux)
      aux = slim.fully_connected(aux, num_classes, activation_fn=None,
                                 scope='FC')
  end_points['AuxLogits'] = aux


def final_layer(net, recorder, num_classes, config):
  """ReLU (ReLU6 if bounded), global average pool, dropout and the classifier.

  Returns:
    `[batch, num_classes]` logits, or the `[batch, C]` pooled features when
    `num_classes` is 0 or None or `final_endpoint` is 'global_pool'.
  """
  with tf.variable_scope('final_layer'):
    net = nasnet_utils.activation_fn(config.use_bounded_activation)(net)
    net = nasnet_utils.global_avg_pool(net, config.data_format)
    if recorder.add('global_pool', net) or not num_classes:
      return net
    net = slim.dropout(net, config.dense_dropout_keep_prob, scope='dropout')
    logits = slim.fully_connected(net, num_classes, activation_fn=None,
                                  scope='FC')
    if recorder.add('Logits', logits):
      return logits
    recorder.add('Predictions', tf.nn.softmax(logits, name='predictions'))
  return logits


def _endpoint_names(config):
  """The end points `build_nasnet` can stop at, in build order."""
  reductions = nasnet_utils.calc_reduction_layers(
      config.num_cells, config.num_reduction_layers)
  names = ['Stem']
  for cell_num in range(config.num_cells):
    if cell_num in reductions:
      names.append('Reduction_Cell_{}'.format(reductions.index(cell_num)))
    names.append('Cell_{}'.format(cell_num))
  return names + ['global_pool', 'Logits', 'Predictions']


def build_nasnet(images, num_classes, is_training=True, config=None,
                 final_endpoint=None, current_step=None):
  """Builds a NASNet-A network [1] from a `NasNetConfig`.

  Args:
    images: `[batch, height, width, 3]` float tensor (always NHWC; it is
      transposed for a 'NCHW' config). Height and width must be static.
    num_classes: number of logits; 0 or None returns the `[batch, C]`
      globally pooled features and builds no aux head.
    is_training: training mode: batch-norm statistics, dropout, drop path
      (reading the global step) and the aux head.
    config: a `NasNetConfig`; None means `MOBILE_IMAGENET_CONFIG`.
    final_endpoint: stop after this end point ('Stem', 'Cell_3',
      'Reduction_Cell_0', 'global_pool', ...) and return it.
    current_step: scalar step tensor for drop path's schedule; None reads
      the global step.

  Returns:
    `(logits, end_points)`: logits `[batch, num_classes]` (or the requested
    end point), and a dict of end points in build order: 'Stem', then per
    cell 'Reduction_Cell_k' / 'Cell_n', 'AuxLogits' (training only),
    'global_pool', 'Logits', 'Predictions'.

  Raises:
    ValueError: for an unknown `final_endpoint`, `stem_type` or
      `data_format`, images without a static size, or images too small for
      the aux head.
  """
  config = MOBILE_IMAGENET_CONFIG if config is None else config
  images, config, current_step = prepare(images, config, is_training,
                                         current_step)
  recorder = EndPoints(final_endpoint, _endpoint_names(config))
  total_num_cells = config.num_cells + 2  # the normal and reduction cells
  if config.stem_type == 'imagenet':
    total_num_cells += 2  # the stem cells
  cell_args = (config.num_conv_filters, config.drop_path_keep_prob,
               total_num_cells, config.total_training_steps)
  cell_kwargs = dict(use_bounded_activation=config.use_bounded_activation,
                     data_format=config.data_format)
  normal_cell = nasnet_utils.NasNetANormalCell(*cell_args, **cell_kwargs)
  reduction_cell = nasnet_utils.NasNetAReductionCell(*cell_args,
                                                     **cell_kwargs)
  with model_arg_scope(is_training, config.data_format):
    if config.stem_type == 'imagenet':
      net, cell_outputs = imagenet_stem(images, config, reduction_cell,
                                        current_step)
    else:
      net, cell_outputs = _cifar_stem(images, config)
    if recorder.add('Stem', net):
      return net, recorder.end_points

    reductions = nasnet_utils.calc_reduction_layers(
        config.num_cells, config.num_reduction_layers)
    aux_cell = aux_head_cell(config)
    filter_scaling = 1.0
    true_cell_num = 2 if config.stem_type == 'imagenet' else 0
    for cell_num in range(config.num_cells):
      if config.skip_reduction_layer_input:
        prev_layer = cell_outputs[-2]  # taken before the reduction cell
      if cell_num in reductions:
        filter_scaling *= config.filter_scaling_rate
        index = reductions.index(cell_num)
        net = reduction_cell(
            net, scope='reduction_cell_{}'.format(index),
            filter_scaling=filter_scaling, stride=2,
            prev_layer=cell_outputs[-2], cell_num=true_cell_num,
            current_step=current_step)
        if recorder.add('Reduction_Cell_{}'.format(index), net):
          return net, recorder.end_points
        true_cell_num += 1
        cell_outputs.append(net)
      if not config.skip_reduction_layer_input:
        prev_layer = cell_outputs[-2]
      net = normal_cell(
          net, scope='cell_{}'.format(cell_num),
          filter_scaling=filter_scaling, stride=1, prev_layer=prev_layer,
          cell_num=true_cell_num, current_step=current_step)
      if recorder.add('Cell_{}'.format(cell_num), net):
        return net, recorder.end_points
      true_cell_num += 1
      if (config.use_aux_head and cell_num == aux_cell and num_classes and
          is_training):
        activation = nasnet_utils.activation_fn(config.use_bounded_activation)
        build_aux_head(activation(net), recorder.end_points, num_classes,
                       config, scope='aux_{}'.format(cell_num))
      cell_outputs.append(net)

    logits = final_layer(net, recorder, num_classes, config)
  return logits, recorder.end_points


def variant(builder, default_config, image_size, name, doc,
            final_endpoint_first=True):
  """Returns `builder` with `config` defaulting to `default_config`.

  The published NASNet-A and PNASNet-5 models are one builder each with a
  config per size; this makes Slim's per-size functions from them, with
  Slim's positional order.

  Args:
    builder: `build_nasnet` or `pnasnet.build_pnasnet`.
    default_config: the config used when the caller passes none.
    image_size: the model's `default_image_size`.
    name: the function's public name.
    doc: its docstring.
    final_endpoint_first: Slim's order for the ImageNet models, `fn(images,
      num_classes, is_training=True, final_endpoint=None, config=None,
      current_step=None)`; False gives its CIFAR order, `fn(images,
      num_classes, is_training=True, config=None, current_step=None,
      final_endpoint=None)`.

  Returns:
    `fn(...) -> (logits, end_points)`.
  """

  def call(images, num_classes, is_training, config, final_endpoint,
           current_step):
    return builder(images, num_classes, is_training=is_training,
                   config=default_config if config is None else config,
                   final_endpoint=final_endpoint, current_step=current_step)

  if final_endpoint_first:
    def build(images, num_classes, is_training=True, final_endpoint=None,
              config=None, current_step=None):
      return call(images, num_classes, is_training, config, final_endpoint,
                  current_step)
  else:
    def build(images, num_classes, is_training=True, config=None,
              current_step=None, final_endpoint=None):
      return call(images, num_classes, is_training, config, final_endpoint,
                  current_step)

  build.__name__ = name
  build.__doc__ = doc
  build.default_image_size = image_size
  return build


build_nasnet_cifar = variant(
    build_nasnet, CIFAR_CONFIG, 32, 'build_nasnet_cifar',
    """NASNet-A CIFAR: 32x32 inputs, 18 cells of 32 filters, [1] Table 1.

  Args and returns as `build_nasnet`; `config` defaults to `CIFAR_CONFIG`.
  End points at 32x32: 'Stem' 32x32x96, cells 32x32x192, 16x16x384 and
  8x8x768, 'global_pool' `[batch, 768]`.
  """, final_endpoint_first=False)

build_nasnet_mobile = variant(
    build_nasnet, MOBILE_IMAGENET_CONFIG, 224, 'build_nasnet_mobile',
    """NASNet-A Mobile: 224x224 inputs, 12 cells of 44 filters, [1] Table 3.

  Args and returns as `build_nasnet`; `config` defaults to
  `MOBILE_IMAGENET_CONFIG`. End points at 224: 'Stem' 28x28x88, cells
  28x28x264, 14x14x528 and 7x7x1056, 'global_pool' `[batch, 1056]`.
  """)

build_nasnet_large = variant(
    build_nasnet, LARGE_IMAGENET_CONFIG, 331, 'build_nasnet_large',
    """NASNet-A Large: 331x331 inputs, 18 cells of 168 filters, [1] Table 2.

  Args and returns as `build_nasnet`; `config` defaults to
  `LARGE_IMAGENET_CONFIG`. End points at 331: 'Stem' 42x42x336, cells
  42x42x1008, 21x21x2016 and 11x11x4032, 'global_pool' `[batch, 4032]`.
  """)
