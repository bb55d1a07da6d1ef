"""Cells and helpers shared by NASNet-A [1] and PNASNet-5 [2].

A cell reads two inputs, the output of the previous cell (hidden state 0,
after a ReLU-1x1-BN projection) and the output of the cell before that
(hidden state 1, `prev_layer`, resized to match), and makes five new hidden
states. New state `b` is `op_left(h[i]) + op_right(h[j])`, where the two
operations and the indices `i, j` come from an operation table (`CellSpec`);
new states are numbered 2, 3, ... and later ones may read earlier ones. The
cell's output concatenates, along channels, every state the cell did not
consume itself.

The tables are data: `NASNET_A_NORMAL` and `NASNET_A_REDUCTION` here (Fig. 4
of [1]), `PNASNET_5` in `pnasnet.py` (Fig. 1 of [2]). One class,
`NasNetABaseCell`, runs any table, so a new cell is a new table, not new code.

Operation strings are TF-Slim's, and they double as variable scopes:

  * `'separable_KxK_N'`: N x (ReLU, KxK separable conv, BN); only the first
    layer strides. Scopes `separable_KxK_<n>` and `bn_sep_KxK_<n>`.
  * `'avg_pool_KxK'`, `'max_pool_KxK'`: SAME pooling, followed by a 1x1 conv
    (`1x1`) and BN (`bn_1`) when the channel count must change.
  * `'none'`: identity, or ReLU-1x1 conv-BN when it must stride or change
    the channel count.

Only hidden states 0 and 1 are strided in a reduction cell (stride 2); states
made inside the cell are already at the reduced resolution.

With `use_bounded_activation=True` (TF-Slim's variant for quantized
inference) every ReLU of the cell is a ReLU6, the output of each separable,
pooling or projecting operation is clipped to [-CLIP_BY_VALUE_CAP,
CLIP_BY_VALUE_CAP], an identity ('none') operation applies a ReLU6, and each
new state is ReLU6(left + right). Bounded activations keep the ranges a
fixed-point format has to cover small. The variables are the same.

Variable names, shapes and creation order equal TF-Slim's
(`research/slim/nets/nasnet/nasnet_utils.py`), so its checkpoints load.

References:
  [1] Zoph et al., Learning Transferable Architectures for Scalable Image
      Recognition, arXiv:1707.07012.
  [2] Liu et al., Progressive Neural Architecture Search, arXiv:1712.00559.

Typical use:

    from nets.nasnet import nasnet_utils

    cell = nasnet_utils.NasNetANormalCell(
        num_conv_filters=44, drop_path_keep_prob=1.0, total_num_cells=16,
        total_training_steps=250000)
    # net: [batch, 28, 28, 264], prev: [batch, 28, 28, 264] or [.., 56, 56, ..]
    net = cell(net, scope='cell_1', filter_scaling=1.0, stride=1,
               prev_layer=prev, cell_num=3)          # [batch, 28, 28, 264]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
import re

import tensorflow.compat.v1 as tf
import tf_slim as slim

DATA_FORMATS = ('NCHW', 'NHWC')

# TF-Slim's clipping bound for use_bounded_activation: most activations of
# the trained float models lie in [-6, 6], the range of ReLU6.
CLIP_BY_VALUE_CAP = 6

# The identity operation of a cell table.
IDENTITY = 'none'

_SEPARABLE_RE = re.compile(r'^separable_(\d+)x(\d+)(?:_(\d+))?$')
_POOLING_RE = re.compile(r'^(avg|max)_pool_(\d+)x(\d+)$')

CellSpec = collections.namedtuple(
    'CellSpec',
    [
        # 2 * B operation strings, (left, right) for each of the B new states.
        'operations',
        # 2 * B input indices, aligned with `operations`: 0 is the cell's
        # projected input, 1 is `prev_layer`, 2 + b is the b-th new state.
        'hiddenstate_indices',
        # 2 + B flags: 1 if the state is consumed inside the cell (and so left
        # out of the output concatenation), 0 if it goes to the output.
        'used_hiddenstates',
    ])

# NASNet-A normal cell ([1], Fig. 4 left).
NASNET_A_NORMAL = CellSpec(
    operations=('separable_5x5_2', 'separable_3x3_2',
                'separable_5x5_2', 'separable_3x3_2',
                'avg_pool_3x3', 'none',
                'avg_pool_3x3', 'avg_pool_3x3',
                'separable_3x3_2', 'none'),
    hiddenstate_indices=(0, 1, 1, 1, 0, 1, 1, 1, 0, 0),
    used_hiddenstates=(1, 0, 0, 0, 0, 0, 0))

# NASNet-A reduction cell ([1], Fig. 4 right).
NASNET_A_REDUCTION = CellSpec(
    operations=('separable_5x5_2', 'separable_7x7_2',
                'max_pool_3x3', 'separable_7x7_2',
                'avg_pool_3x3', 'separable_5x5_2',
                'none', 'avg_pool_3x3',
                'separable_3x3_2', 'max_pool_3x3'),
    hiddenstate_indices=(0, 1, 0, 1, 0, 1, 3, 2, 2, 0),
    used_hiddenstates=(1, 1, 1, 0, 0, 0, 0))


def activation_fn(use_bounded_activation):
  """The cells' non-linearity: `tf.nn.relu6` if bounded, else `tf.nn.relu`."""
  return tf.nn.relu6 if use_bounded_activation else tf.nn.relu


def clip(net):
  """Clips `net` to [-CLIP_BY_VALUE_CAP, CLIP_BY_VALUE_CAP] (bounded cells)."""
  return tf.clip_by_value(net, -CLIP_BY_VALUE_CAP, CLIP_BY_VALUE_CAP)


def check_data_format(data_format):
  """Raises ValueError unless `data_format` is 'NHWC' or 'NCHW'."""
  if data_format not in DATA_FORMATS:
    raise ValueError('Unknown data_format %r; expected one of: %s' %
                     (data_format, ', '.join(DATA_FORMATS)))


def channel_axis(data_format):
  """Returns the channel axis of a 4-D tensor: 3 for NHWC, 1 for NCHW."""
  check_data_format(data_format)
  return 3 if data_format == 'NHWC' else 1


def channel_dim(net, data_format):
  """Returns the static channel count of the 4-D tensor `net`."""
  return int(net.shape[channel_axis(data_format)])


# TF-Slim's placeholder default: the model's arg_scope sets the real format.
INVALID = 'null'


@slim.add_arg_scope
def get_channel_index(data_format=INVALID):
  """TF-Slim's name: the channel axis, 3 for 'NHWC' and 1 for 'NCHW'.

  Raises:
    ValueError: for any other `data_format` (e.g. outside the model's
      arg_scope, which sets it).
  """
  return channel_axis(data_format)


@slim.add_arg_scope
def get_channel_dim(shape, data_format=INVALID):
  """TF-Slim's name: the channel count of a 4-D `shape` (list or TensorShape).

  Raises:
    ValueError: if `shape` is not 4-D or `data_format` is unknown.
  """
  dims = list(shape)
  if len(dims) != 4:
    raise ValueError('get_channel_dim needs a 4-D shape, got %s' % (shape,))
  return int(dims[channel_axis(data_format)])


def spatial_shape(net, data_format):
  """Returns the static `(height, width)` of the 4-D tensor `net`.

  Raises:
    ValueError: if height or width is not known when the graph is built
      (the cells size their reductions and the aux head from them).
  """
  check_data_format(data_format)
  shape = net.shape.as_list()
  dims = tuple(shape[1:3] if data_format == 'NHWC' else shape[2:4])
  if None in dims:
    raise ValueError('NASNet/PNASNet need a static height and width; got '
                     'tensor %s of shape %s' % (net.name, net.shape))
  return dims


def calc_reduction_layers(num_cells, num_reduction_layers):
  """Returns the cell indices before which the resolution is halved.

  The `num_reduction_layers` reductions split `num_cells` into equal stacks:
  12 cells and 2 reductions give `[4, 8]`.
  """
  return [int(float(k) / (num_reduction_layers + 1) * num_cells)
          for k in range(1, num_reduction_layers + 1)]


def global_avg_pool(net, data_format='NHWC'):
  """Averages `net` over height and width: `[N, H, W, C]` -> `[N, C]`."""
  axes = [1, 2] if channel_axis(data_format) == 3 else [2, 3]
  return tf.reduce_mean(net, axes)


@slim.add_arg_scope
def factorized_reduction(net, output_filters, stride, data_format='NHWC'):
  """Changes the channels (and, for stride 2, halves the resolution) of `net`.

  With stride 1 this is a 1x1 conv (`path_conv`) and BN (`path_bn`). With
  stride 2 it is the factorized reduction of [1]: two 1x1 convs on the
  even and the odd pixel grids (`path1_conv`, `path2_conv`; the second grid is
  the input shifted by one pixel), concatenated and batch-normalized
  (`final_path_bn`), so no pixel is simply dropped. For an odd
  `output_filters` the second path takes the extra channel.

  Args:
    net: 4-D tensor, `[batch, height, width, channels]` in NHWC.
    output_filters: channels of the result.
    stride: 1 or 2.
    data_format: 'NHWC' or 'NCHW'.

  Returns:
    `[batch, ceil(height / stride), ceil(width / stride), output_filters]`.
  """
  if stride == 1:
    net = slim.conv2d(net, output_filters, 1, scope='path_conv')
    return slim.batch_norm(net, scope='path_bn')
  axis = channel_axis(data_format)
  strides = [1, stride, stride, 1] if axis == 3 else [1, 1, stride, stride]

  path1 = tf.nn.avg_pool(net, [1, 1, 1, 1], strides, 'VALID',
                         data_format=data_format)
  path1 = slim.conv2d(path1, output_filters // 2, 1, scope='path1_conv')

  # Shift the sampling grid by one pixel: pad bottom/right, drop top/left.
  if axis == 3:
    path2 = tf.pad(net, [[0, 0], [0, 1], [0, 1], [0, 0]])[:, 1:, 1:, :]
  else:
    path2 = tf.pad(net, [[0, 0], [0, 0], [0, 1], [0, 1]])[:, :, 1:, 1:]
  path2 = tf.nn.avg_pool(path2, [1, 1, 1, 1], strides, 'VALID',
                         data_format=data_format)
  path2 = slim.conv2d(path2, output_filters - output_filters // 2, 1,
                      scope='path2_conv')

  net = tf.concat(values=[path1, path2], axis=axis)
  return slim.batch_norm(net, scope='final_path_bn')


@slim.add_arg_scope
def drop_path(net, keep_prob, is_training=True):
  """Drops each example's whole `net` with probability `1 - keep_prob` [1].

  Kept examples are scaled by `1 / keep_prob`, so the expectation is
  unchanged. With `is_training=False` this returns `net` itself.

  Args:
    net: 4-D tensor; one Bernoulli draw per example (first dimension).
    keep_prob: float or scalar float tensor in (0, 1].
    is_training: whether to drop (the builders set it with `arg_scope`).

  Returns:
    A tensor of the shape of `net`.
  """
  if not is_training:
    return net
  noise_shape = [tf.shape(net)[0], 1, 1, 1]
  keep_mask = tf.floor(keep_prob + tf.random_uniform(noise_shape,
                                                     dtype=net.dtype))
  return net / keep_prob * keep_mask


def parse_operation(operation):
  """Splits a cell operation string into its kind and parameters.

  Args:
    operation: e.g. 'separable_5x5_2', 'max_pool_3x3' or 'none'.

  Returns:
    `('separable', kernel_size, num_layers)`, `('avg' | 'max', kernel_size,
    None)` or `('none', None, None)`.

  Raises:
    ValueError: for any other string, or a non-square kernel.
  """
  if operation == IDENTITY:
    return IDENTITY, None, None
  match = _SEPARABLE_RE.match(operation)
  if match and match.group(1) == match.group(2):
    return 'separable', int(match.group(1)), int(match.group(3) or 1)
  match = _POOLING_RE.match(operation)
  if match and match.group(2) == match.group(3):
    return match.group(1), int(match.group(2)), None
  raise ValueError(
      'Unknown cell operation %r; expected one of: avg_pool_KxK, max_pool_KxK, '
      'none, separable_KxK, separable_KxK_N (square K, N layers)' %
      (operation,))


def check_cell_spec(spec):
  """Raises ValueError unless `spec` is a consistent `CellSpec`."""
  num_ops = len(spec.operations)
  if num_ops % 2 or len(spec.hiddenstate_indices) != num_ops:
    raise ValueError('A CellSpec needs an even number of operations and one '
                     'input index per operation; got %d operations and %d '
                     'indices' % (num_ops, len(spec.hiddenstate_indices)))
  num_states = 2 + num_ops // 2
  if len(spec.used_hiddenstates) != num_states:
    raise ValueError('used_hiddenstates needs %d flags (2 inputs + %d new '
                     'states); got %r' % (num_states, num_ops // 2,
                                          spec.used_hiddenstates))
  for i, index in enumerate(spec.hiddenstate_indices):
    available = 2 + i // 2  # states made before this combination
    if not 0 <= index < available:
      raise ValueError('hiddenstate_indices[%d] = %r; valid inputs of new '
                       'state %d are 0..%d' % (i, index, i // 2,
                                               available - 1))
  for operation in spec.operations:
    parse_operation(operation)


class NasNetABaseCell(object):
  """A NASNet-style cell: runs an operation table on two inputs.

  Args:
    cell_spec: the `CellSpec` table.
    num_conv_filters: filters per hidden state before `filter_scaling`.
    drop_path_keep_prob: keep probability of drop path at the last cell at
      the end of training; 1.0 turns drop path off. It is scaled linearly by
      depth, `(cell_num + 1) / total_num_cells`, and by training progress,
      `min(1, step / total_training_steps)` ([1], Sec. 4, ScheduledDropPath).
    total_num_cells: cells of the network, stem and reduction cells included.
    total_training_steps: steps over which drop path ramps up.
    use_bounded_activation: ReLU6 instead of ReLU, clipped operation
      outputs and a ReLU6 on each new state (see the module docstring), as
      in TF-Slim.
    data_format: 'NHWC' or 'NCHW'.

  Raises:
    ValueError: for an inconsistent `cell_spec` or unknown `data_format`.
  """

  def __init__(self, cell_spec, num_conv_filters, drop_path_keep_prob,
               total_num_cells, total_training_steps,
               use_bounded_activation=False, data_format='NHWC'):
    check_cell_spec(cell_spec)
    check_data_format(data_format)
    self._spec = cell_spec
    self._use_bounded_activation = bool(use_bounded_activation)
    self._activation_fn = activation_fn(use_bounded_activation)
    self._num_conv_filters = num_conv_filters
    self._drop_path_keep_prob = drop_path_keep_prob
    self._total_num_cells = total_num_cells
    self._total_training_steps = total_training_steps
    self._data_format = data_format

  @property
  def cell_spec(self):
    """The `CellSpec` this cell runs."""
    return self._spec

  def __call__(self, net, scope=None, filter_scaling=1.0, stride=1,
               prev_layer=None, cell_num=-1, current_step=None):
    """Builds the cell.

    Args:
      net: output of the previous cell, `[batch, H, W, C]` (NHWC).
      scope: variable scope of the cell, e.g. 'cell_3'.
      filter_scaling: multiplies `num_conv_filters` for this cell.
      stride: 1, or 2 for a reduction cell.
      prev_layer: output of the cell before `net`'s (at the same or twice
        the resolution), or None to use `net` in its place.
      cell_num: index of the cell in the network (stem cells included), for
        the depth scaling of drop path; needed only when drop path is on.
      current_step: scalar step tensor for drop path's schedule; None reads
        the global step (created if missing).

    Returns:
      `[batch, H / stride, W / stride, F * k]`, where `F =
      int(num_conv_filters * filter_scaling)` and `k` is the number of states
      the table leaves unused.
    """
    filter_size = int(self._num_conv_filters * filter_scaling)
    spec = self._spec
    with tf.variable_scope(scope, default_name='cell'):
      states = self._cell_base(net, prev_layer, filter_size)
      for b in range(len(spec.operations) // 2):
        with tf.variable_scope('comb_iter_{}'.format(b)):
          branches = []
          for side, i in (('left', 2 * b), ('right', 2 * b + 1)):
            index = spec.hiddenstate_indices[i]
            with tf.variable_scope(side):
              branches.append(self._apply_operation(
                  states[index], spec.operations[i], filter_size,
                  stride=stride if index < 2 else 1,
                  cell_num=cell_num, current_step=current_step))
          with tf.variable_scope('combine'):
            state = branches[0] + branches[1]
            if self._use_bounded_activation:
              state = tf.nn.relu6(state)
            states.append(state)
      with tf.variable_scope('cell_output'):
        return self._combine_unused_states(states)

  def _reduce_prev_layer(self, prev_layer, net, filter_size):
    """Resizes `prev_layer` to `net`'s resolution and `filter_size` channels."""
    if prev_layer is None:
      return net
    if (spatial_shape(prev_layer, self._data_format) !=
        spatial_shape(net, self._data_format)):
      prev_layer = self._activation_fn(prev_layer)
      return factorized_reduction(prev_layer, filter_size, stride=2,
                                  data_format=self._data_format)
    if channel_dim(prev_layer, self._data_format) != filter_size:
      prev_layer = self._activation_fn(prev_layer)
      prev_layer = slim.conv2d(prev_layer, filter_size, 1, scope='prev_1x1')
      prev_layer = slim.batch_norm(prev_layer, scope='prev_bn')
    return prev_layer

  def _cell_base(self, net, prev_layer, filter_size):
    """Returns hidden states 0 (projected `net`) and 1 (resized prev)."""
    prev_layer = self._reduce_prev_layer(prev_layer, net, filter_size)
    net = self._activation_fn(net)
    net = slim.conv2d(net, filter_size, 1, scope='1x1')
    net = slim.batch_norm(net, scope='beginning_bn')
    return [net, prev_layer]

  def _apply_operation(self, net, operation, filter_size, stride, cell_num,
                       current_step):
    """Applies one table operation (and drop path unless it is 'none').

    Bounded (as TF-Slim): ReLU6 for ReLU; separable and pooling outputs are
    clipped; 'none' applies a ReLU6 and clips its 1x1 conv's output; a
    pooling operation's input goes through a ReLU6 first.
    """
    bounded = self._use_bounded_activation
    kind, kernel_size, num_layers = parse_operation(operation)
    input_filters = channel_dim(net, self._data_format)
    if kind == 'separable':
      for layer in range(1, num_layers + 1):
        net = self._activation_fn(net)
        net = slim.separable_conv2d(
            net, filter_size, kernel_size, depth_multiplier=1,
            stride=stride if layer == 1 else 1,
            scope='separable_{0}x{0}_{1}'.format(kernel_size, layer))
        net = slim.batch_norm(
            net, scope='bn_sep_{0}x{0}_{1}'.format(kernel_size, layer))
    elif kind == IDENTITY:
      if bounded:
        net = tf.nn.relu6(net)  # As TF-Slim: even a plain identity.
      if stride > 1 or input_filters != filter_size:
        if not bounded:
          net = tf.nn.relu(net)
        net = slim.conv2d(net, filter_size, 1, stride=stride, scope='1x1')
        net = slim.batch_norm(net, scope='bn_1')
        net = clip(net) if bounded else net
      return net
    else:
      if bounded:
        net = tf.nn.relu6(net)
      pool = slim.avg_pool2d if kind == 'avg' else slim.max_pool2d
      net = pool(net, kernel_size, stride=stride, padding='SAME')
      if input_filters != filter_size:
        net = slim.conv2d(net, filter_size, 1, scope='1x1')
        net = slim.batch_norm(net, scope='bn_1')
    if bounded:
      net = clip(net)
    return self._apply_drop_path(net, cell_num, current_step)

  def _combine_unused_states(self, states):
    """Concatenates the states left unused, resized to the last state."""
    data_format = self._data_format
    final_shape = spatial_shape(states[-1], data_format)
    final_filters = channel_dim(states[-1], data_format)
    outputs = []
    for index, used in enumerate(self._spec.used_hiddenstates):
      if used:
        continue
      state = states[index]
      same_shape = spatial_shape(state, data_format) == final_shape
      if not same_shape or channel_dim(state, data_format) != final_filters:
        with tf.variable_scope('reduction_{}'.format(index)):
          state = factorized_reduction(state, final_filters,
                                       stride=1 if same_shape else 2,
                                       data_format=data_format)
      outputs.append(state)
    return tf.concat(values=outputs, axis=channel_axis(data_format))

  def _apply_drop_path(self, net, cell_num, current_step):
    """Applies ScheduledDropPath ([1], Sec. 4) unless keep_prob is 1."""
    keep_prob = self._drop_path_keep_prob
    if keep_prob >= 1.0:
      return net
    if cell_num < 0:
      raise ValueError('Drop path (drop_path_keep_prob=%r) needs the cell '
                       'index; got cell_num=%r' % (keep_prob, cell_num))
    layer_ratio = (cell_num + 1) / float(self._total_num_cells)
    keep_prob = 1.0 - layer_ratio * (1.0 - keep_prob)
    if current_step is None:
      current_step = tf.train.get_or_create_global_step()
    step_ratio = tf.minimum(
        1.0, tf.cast(current_step, tf.float32) / self._total_training_steps)
    keep_prob = 1.0 - step_ratio * (1.0 - keep_prob)
    return drop_path(net, keep_prob)


class NasNetANormalCell(NasNetABaseCell):
  """The NASNet-A normal cell ([1], Fig. 4); keeps the resolution."""

  def __init__(self, num_conv_filters, drop_path_keep_prob, total_num_cells,
               total_training_steps, use_bounded_activation=False,
               data_format='NHWC'):
    super(NasNetANormalCell, self).__init__(
        NASNET_A_NORMAL, num_conv_filters, drop_path_keep_prob,
        total_num_cells, total_training_steps,
        use_bounded_activation=use_bounded_activation,
        data_format=data_format)


class NasNetAReductionCell(NasNetABaseCell):
  """The NASNet-A reduction cell ([1], Fig. 4); used with stride 2."""

  def __init__(self, num_conv_filters, drop_path_keep_prob, total_num_cells,
               total_training_steps, use_bounded_activation=False,
               data_format='NHWC'):
    super(NasNetAReductionCell, self).__init__(
        NASNET_A_REDUCTION, num_conv_filters, drop_path_keep_prob,
        total_num_cells, total_training_steps,
        use_bounded_activation=use_bounded_activation,
        data_format=data_format)
