"""Attention modules as data: a registry, and the bound value models apply.

A model takes `attention_module`: None (off), or one value naming a module and
holding its hyper-parameters, an `Attention`, made from a registered name by
`bind` (a bare name binds the module's defaults). Each model applies it at one
documented point per block with `apply_attention`; with the module off that
returns its input untouched and adds nothing to the graph, so variable names
stay those of the published TF-Slim checkpoints. Models never see a module's
hyper-parameters by name and never name a module.

Contract of a registered block function:

    fn(inputs, scope=None, **hparams) -> tensor

`inputs` is a 4-D NHWC tensor `[batch, height, width, channels]`; the result has
the same shape. The function creates its variables under one fixed sub-scope
of the caller's scope (`scope`, or the module's own default name), takes layer
defaults (weight decay, initializers, batch-norm mode) from the caller's
`arg_scope`, and records each gate it multiplies by with `record_gate`.

A module's registry entry (`AttentionModule`) holds everything the rest of
the code asks about it: the block function, its hyper-parameters with
defaults and validation, its sub-scope and the pattern of the variables it
adds (fine-tuning reports them as new), the names of its gates, its exact
parameter count on C channels, and how its variables start it as identity.
Adding a module is one block function plus one `register_attention` call
(see the three below), plus its own test file.

Gates are recorded in the graph collection `EXCITATIONS`; `nets_factory` adds
each one to a model's end points as `<module scope>/<gate name>` (for SE,
`.../se/excitation`), and training adds a histogram of each.

Where a block's module sits can move for the SE paper's placement ablation
([1], Sec. 6.5, Fig. 5): `Attention.position` is one of `POSITIONS`; models
that offer other places than 'standard' (the ResNets) apply the module there.

References:
  [1] Hu et al., Squeeze-and-Excitation Networks, arXiv:1709.01507.
  [2] Woo et al., CBAM: Convolutional Block Attention Module, ECCV 2018,
      arXiv:1807.06521.
  [3] Wang et al., ECA-Net: Efficient Channel Attention for Deep
      Convolutional Neural Networks, CVPR 2020, arXiv:1910.03151.

Typical use:

    from nets import attention

    se = attention.bind('se_block', reduction_ratio=16)   # one value
    net = attention.apply_attention(se, net)              # in a model block
    net = attention.apply_attention(None, net)  # off: returns `net` itself
    attention.get_module('eca_block').param_count(256)    # 5
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
import math
import numbers
import re

import tensorflow.compat.v1 as tf
import tf_slim as slim

# Graph collection holding each module's gates, aliased '<scope>/<gate>'.
EXCITATIONS = 'se_slim_excitations'

# The reduction ratio the SE paper uses throughout ([1], Sec. 6.1); CBAM's
# experiments use it too ([2], Sec. 4).
DEFAULT_REDUCTION_RATIO = 16

# What the `--attention_module` flag accepts besides module names: off.
OFF = 'none'

# Where a ResNet unit applies its module ([1], Sec. 6.5, Fig. 5):
#   standard: on the residual branch, after its last conv, before the add;
#   pre:      on the residual branch's input, before its first conv;
#   post:     on the unit's output, after the add (and v1's ReLU);
#   identity: on the shortcut, in parallel with the residual branch.
STANDARD = 'standard'
POSITIONS = (STANDARD, 'pre', 'post', 'identity')

# A hyper-parameter of a module: its default and `validate(value) -> value`,
# which raises ValueError naming the bad value.
HParam = collections.namedtuple('HParam', ['default', 'validate'])

AttentionModule = collections.namedtuple('AttentionModule', [
    'name',  # what users pass as --attention_module
    'block_fn',  # fn(inputs, scope=None, **hparams) -> tensor
    'scope',  # the fixed sub-scope of its variables, e.g. 'se'
    'hparams',  # OrderedDict: name -> HParam
    'gates',  # names of its recorded gates; the first has C channels
    'variables',  # regex of its variable names relative to `scope`
    'param_count',  # fn(channels, **hparams) -> trainable parameters added
    'identity_init',  # {variable-name regex (relative to scope): fn(gate)
                      # -> start value} making every gate ~gate, the first
                      # regex matching once per block; or, for a module
                      # that cannot start as identity, a str saying why
])

_MODULES = collections.OrderedDict()


def register_attention(name, scope, hparams=(), gates=('excitation',),
                       variables=None, param_count=None, identity_init=None):
  """Decorator that adds a block function to the registry under `name`.

  Args:
    name: the string users pass as `attention_module`.
    scope: the fixed sub-scope the block creates its variables in.
    hparams: sequence of `(hparam name, HParam)`; the block takes each as a
      keyword argument.
    gates: names of the gates the block records with `record_gate`; the
      first must have the block's C channels (it counts applications).
    variables: regex matching the names of its variables relative to
      `scope` (e.g. 'fc[12]/(weights|biases)').
    param_count: `fn(channels, **hparams)`, trainable parameters added by one
      application on `channels` channels.
    identity_init: see `AttentionModule.identity_init`.

  Returns:
    A decorator that registers and returns the function unchanged.

  Raises:
    ValueError: if `name` is empty, `name` or `scope` is already
      registered, or `variables` / `param_count` is missing.
  """
  if not name or not isinstance(name, str) or name == OFF:
    raise ValueError('Attention module name must be a non-empty string other '
                     'than %r, got %r' % (OFF, name))
  if variables is None or param_count is None:
    raise ValueError('Attention module %r needs a variable pattern and a '
                     'parameter count' % (name,))

  def decorator(fn):
    if name in _MODULES:
      raise ValueError('Attention module %r is already registered (by %s)' %
                       (name, _MODULES[name].block_fn.__name__))
    for other in _MODULES.values():
      if other.scope == scope:
        raise ValueError('Attention module %r would share the variable scope '
                         '%r of %r' % (name, scope, other.name))
    _MODULES[name] = AttentionModule(
        name=name, block_fn=fn, scope=scope,
        hparams=collections.OrderedDict(hparams), gates=tuple(gates),
        variables=variables, param_count=param_count,
        identity_init=identity_init)
    return fn

  return decorator


def names():
  """Returns the registered attention module names, sorted."""
  return sorted(_MODULES)


def flag_choices():
  """The values `--attention_module` accepts: the names and 'none' (off)."""
  return sorted(names() + [OFF])


def is_enabled(attention):
  """True if `attention` selects a module (None, '' and 'none' mean off)."""
  return bool(attention) and attention != OFF


def get_module(name):
  """Returns the `AttentionModule` registered under `name`.

  Raises:
    ValueError: if `name` is not registered; the message lists valid names.
  """
  try:
    return _MODULES[name]
  except (KeyError, TypeError):
    raise ValueError('Unknown attention_module %r; expected one of: %s' %
                     (name, ', '.join(names())))


def get_attention_fn(name):
  """Returns the block function registered under `name`, or None if off.

  Raises:
    ValueError: if `name` is not registered; the message lists valid names.
  """
  if not is_enabled(name):
    return None
  return get_module(name).block_fn


def validate_position(position):
  """Returns `position` if it is one of `POSITIONS`, else raises ValueError."""
  if position not in POSITIONS:
    raise ValueError('Unknown attention_position %r; expected one of: %s' %
                     (position, ', '.join(POSITIONS)))
  return position


class Attention(collections.namedtuple('Attention',
                                       ['name', 'hparams', 'position'])):
  """One attention module bound to its hyper-parameters: what models apply.

  Attributes:
    name: the registered module name.
    hparams: tuple of sorted `(name, value)` pairs, every hyper-parameter of
      the module (defaults filled in, validated).
    position: one of `POSITIONS`.

  Build one with `bind`. Being a tuple of plain values it is hashable and
  compares by value.
  """

  __slots__ = ()

  @property
  def module(self):
    """The registry entry (`AttentionModule`)."""
    return get_module(self.name)

  @property
  def kwargs(self):
    """The hyper-parameters as a dict of keyword arguments."""
    return dict(self.hparams)

  def __call__(self, inputs, scope=None):
    """Applies the module to `inputs` (`[batch, H, W, C]`), same shape out."""
    return self.module.block_fn(inputs, scope=scope, **self.kwargs)

  def param_count(self, channels):
    """Trainable parameters one application adds on `channels` channels."""
    return self.module.param_count(channels, **self.kwargs)


def bind(attention, position=STANDARD, ignore_unknown=False, **hparams):
  """Binds an attention module and its hyper-parameters into one value.

  Args:
    attention: None, '' or 'none' (off); a registered name; an `Attention`
      (returned with `position` applied if given); or a registry row's
      `(name, {hparam: value})` pair.
    position: one of `POSITIONS`.
    ignore_unknown: drop `hparams` the module does not take (for shared
      command-line flags such as `--reduction_ratio`) instead of raising.
    **hparams: hyper-parameter values; missing ones take their defaults.

  Returns:
    An `Attention`, or None when off.

  Raises:
    ValueError: for an unknown module, position or hyper-parameter, or an
      invalid hyper-parameter value.
  """
  validate_position(position)
  if isinstance(attention, Attention):
    if hparams and not ignore_unknown:
      raise ValueError('%r is already bound; pass its hyper-parameters to '
                       'bind() once' % (attention,))
    return attention._replace(position=position)
  if isinstance(attention, tuple) and len(attention) == 2:
    attention, row_hparams = attention
    hparams = dict(hparams, **row_hparams)
  if not is_enabled(attention):
    return None
  module = get_module(attention)
  unknown = sorted(set(hparams) - set(module.hparams))
  if unknown and not ignore_unknown:
    raise ValueError('%s takes no hyper-parameter %s; it takes: %s' %
                     (module.name, ', '.join(unknown),
                      ', '.join(module.hparams) or 'none'))
  values = []
  for key, spec in module.hparams.items():
    values.append((key, spec.validate(hparams.get(key, spec.default))))
  return Attention(module.name, tuple(sorted(values)), position)


def apply_attention(attention, inputs, scope=None, position=STANDARD,
                    **hparams):
  """Applies `attention` to `inputs` at `position`, or returns them unchanged.

  This is the call models make at each of their attention points.

  Args:
    attention: anything `bind` takes (None / '' / 'none' for off).
    inputs: 4-D tensor `[batch, height, width, channels]`.
    scope: None (models: the module's fixed sub-scope, which fine-tuning and
      the tests recognise), or another variable scope for its variables.
    position: which of the caller's points this is (`POSITIONS`); the module
      is applied only where its own position is this one.
    **hparams: hyper-parameters when `attention` is a bare name.

  Returns:
    A tensor with the shape of `inputs`.

  Raises:
    ValueError: for an unknown name or invalid hyper-parameters.
  """
  if isinstance(attention, Attention):
    bound = attention
  else:
    bound = bind(attention, **hparams)
  if bound is None or bound.position != position:
    return inputs
  return bound(inputs, scope=scope)


def record_gate(scope, name, gate):
  """Records `gate` as `<scope>/<name>` in `EXCITATIONS` (an end point)."""
  slim.utils.collect_named_outputs(EXCITATIONS, '%s/%s' % (scope.name, name),
                                   gate)


def _module_regex(module, pattern):
  return re.compile(r'(^|/)%s/(%s)$' % (re.escape(module.scope), pattern))


def module_of_variable(name):
  """The `AttentionModule` that owns variable `name`, or None."""
  for module in _MODULES.values():
    if _module_regex(module, module.variables).search(name):
      return module
  return None


def is_attention_variable(name):
  """True if `name` (a variable op name) belongs to an attention module."""
  return module_of_variable(name) is not None


def gate_module(alias):
  """The `AttentionModule` whose gate end point is `alias`, or None."""
  parts = alias.split('/')
  for module in _MODULES.values():
    if len(parts) >= 2 and parts[-2] == module.scope and (
        parts[-1] in module.gates):
      return module
  return None


def is_gate_end_point(alias):
  """True if end point `alias` is an attention gate (`<scope>/<gate>`)."""
  return gate_module(alias) is not None


def gate_summary_tag(alias):
  """TensorBoard tag of a gate: 'P/se/excitation' -> 'se_excitation/P/se'."""
  prefix, gate = alias.rsplit('/', 1)
  return '%s_%s/%s' % (prefix.rsplit('/', 1)[-1], gate, prefix)


def identity_init_op(variables, gate):
  """Returns `(op, {module name: blocks})` starting modules near identity.

  Every variable of `variables` that a module's `identity_init` names is
  set to its start value, so each gate is ~`gate` for every input.

  Args:
    variables: the variables to set (e.g. those not restored).
    gate: the gate value to start with, in (0, 1).

  Returns:
    A grouped assign op (a no-op when nothing matched) and the number of
    blocks set per module.

  Raises:
    ValueError: if `variables` hold a module that cannot start as identity;
      the message names the modules that can.
  """
  assigns = []
  counts = collections.OrderedDict()
  for var in variables:
    name = var.op.name
    module = module_of_variable(name)
    if module is None:
      continue
    if isinstance(module.identity_init, str):
      raise ValueError(
          '%s cannot start as identity: %s; modules that can: %s' %
          (module.name, module.identity_init,
           ', '.join(n for n in names() if _can_start_as_identity(n))))
    for i, (pattern, value_fn) in enumerate(module.identity_init.items()):
      if _module_regex(module, pattern).search(name):
        if i == 0:
          counts[module.name] = counts.get(module.name, 0) + 1
        assigns.append(tf.assign(var, tf.fill(tf.shape(var),
                                              tf.cast(value_fn(gate),
                                                      var.dtype.base_dtype))))
  return tf.group(*assigns, name='attention_identity_init'), counts


def _can_start_as_identity(name):
  return not isinstance(_MODULES[name].identity_init, str)


def logit(p):
  """The x with sigmoid(x) == p."""
  return math.log(p / (1.0 - p))


def collected_excitations(graph=None, start=0):
  """Returns `{alias: gate}` for the gates recorded since index `start`.

  Args:
    graph: the graph to read (default: the current default graph).
    start: number of entries of `EXCITATIONS` to skip, as returned by
      `len(graph.get_collection(EXCITATIONS))` before a model was built.

  Returns:
    An ordered dict from '<module scope>/<gate>' to gate tensors (SE:
    `[batch, 1, 1, C]`).
  """
  graph = graph or tf.get_default_graph()
  entries = graph.get_collection(EXCITATIONS)[start:]
  return collections.OrderedDict((t.aliases[-1], t) for t in entries)


def _channels(inputs, module_name):
  """C of a 4-D NHWC `inputs`; raises ValueError otherwise."""
  shape = inputs.get_shape()
  if shape.ndims != 4 or shape[-1].value is None:
    raise ValueError('%s needs a 4-D NHWC input with known channels, got '
                     'shape %s' % (module_name, shape))
  return shape[-1].value


# --- Squeeze-and-Excitation [1] ---------------------------------------------


def validate_reduction_ratio(reduction_ratio):
  """Checks that `reduction_ratio` is a positive integer.

  Args:
    reduction_ratio: the reduction ratio r of SE's (and CBAM's) MLP.

  Returns:
    `reduction_ratio` as an int.

  Raises:
    ValueError: if it is not a positive integer (bools are refused too).
  """
  if (isinstance(reduction_ratio, bool) or
      not isinstance(reduction_ratio, numbers.Integral) or reduction_ratio < 1):
    raise ValueError('reduction_ratio must be a positive integer (e.g. the '
                     'paper\'s 16), got %r' % (reduction_ratio,))
  return int(reduction_ratio)


def se_units(channels, reduction_ratio):
  """Width of the SE bottleneck: `max(1, channels // reduction_ratio)`."""
  return max(1, channels // reduction_ratio)


def se_param_count(channels, reduction_ratio=DEFAULT_REDUCTION_RATIO):
  """Trainable parameters one SE block adds on `channels` channels.

  Two fully connected layers with biases: C -> C/r -> C, i.e.
  `2 * C * C/r + C/r + C` with `C/r = max(1, C // r)`.
  """
  units = se_units(channels, reduction_ratio)
  return 2 * channels * units + units + channels


def _excitation_mlp(descriptor, channels, reduction_ratio, activation_fn):
  """The C -> C/r -> C MLP of SE and CBAM as 1x1 convs (`fc1`, `fc2`).

  They take the weights regularizer and initializer of the enclosing
  model's arg_scope (its weight decay); batch norm, strides and end-point
  collection of that arg_scope are turned off for them.
  """
  with slim.arg_scope([slim.conv2d], stride=1, padding='SAME',
                      normalizer_fn=None, normalizer_params=None,
                      biases_initializer=tf.zeros_initializer(),
                      outputs_collections=None):
    hidden = slim.conv2d(descriptor, se_units(channels, reduction_ratio),
                         [1, 1], activation_fn=tf.nn.relu, scope='fc1')
    return slim.conv2d(hidden, channels, [1, 1], activation_fn=activation_fn,
                       scope='fc2')


_REDUCTION_RATIO = ('reduction_ratio',
                    HParam(DEFAULT_REDUCTION_RATIO, validate_reduction_ratio))


@register_attention(
    'se_block', scope='se', hparams=[_REDUCTION_RATIO],
    gates=('excitation',),
    variables=r'fc[12]/(weights|biases)',
    param_count=se_param_count,
    # fc2 weights 0 and bias logit(g): the gate is g for every input.
    identity_init=collections.OrderedDict([
        (r'fc2/weights', lambda gate: 0.0),
        (r'fc2/biases', logit),
    ]))
def se_block(inputs, scope=None, reduction_ratio=DEFAULT_REDUCTION_RATIO):
  """Squeeze-and-Excitation block of [1], Fig. 1 and Eq. 2-4.

  squeeze:    z = mean over H and W of `inputs`           [batch, 1, 1, C]
  excitation: s = sigmoid(W2 relu(W1 z + b1) + b2)         [batch, 1, 1, C]
              W1: C -> max(1, C // r), W2: back to C
  scale:      out = inputs * s (broadcast over H and W)     [batch, H, W, C]

  The two fully connected layers are 1x1 `slim.conv2d`s on the squeezed
  `[batch, 1, 1, C]` tensor (see `_excitation_mlp`). Variables:
  `<scope>/fc1/{weights,biases}` and `<scope>/fc2/{weights,biases}`, with
  `<scope>` defaulting to `se`. Gate end point: `<scope>/excitation`.

  Args:
    inputs: 4-D tensor `[batch, height, width, channels]` with known channels.
    scope: optional variable scope; default 'se'.
    reduction_ratio: positive int r; the paper's default is 16.

  Returns:
    Tensor of the same shape as `inputs`.

  Raises:
    ValueError: if `reduction_ratio` is not a positive integer, or `inputs`
      is not 4-D with a known channel count.
  """
  reduction_ratio = validate_reduction_ratio(reduction_ratio)
  channels = _channels(inputs, 'se_block')
  with tf.variable_scope(scope, 'se', [inputs]) as sc:
    # A mean, not an avg-pool op: it works at any spatial size, including
    # dynamic ones, and keeps the squeeze exactly Eq. 2 of [1].
    squeezed = tf.reduce_mean(inputs, [1, 2], keepdims=True, name='squeeze')
    gate = _excitation_mlp(squeezed, channels, reduction_ratio, tf.sigmoid)
    record_gate(sc, 'excitation', gate)
    return tf.multiply(inputs, gate, name='scale')


# --- CBAM [2] ---------------------------------------------------------------


def validate_kernel_size(kernel_size):
  """Returns `kernel_size` if it is an odd positive int, else raises."""
  if (isinstance(kernel_size, bool) or
      not isinstance(kernel_size, numbers.Integral) or kernel_size < 1 or
      kernel_size % 2 == 0):
    raise ValueError('kernel_size must be an odd positive integer (so SAME '
                     'padding keeps the gate centred), got %r' % (kernel_size,))
  return int(kernel_size)


def cbam_param_count(channels, reduction_ratio=DEFAULT_REDUCTION_RATIO,
                     kernel_size=7):
  """Trainable parameters one CBAM block adds on `channels` channels.

  The channel MLP is SE's (`se_param_count`: `2 * C * C/r + C/r + C`); the
  spatial attention adds a `k x k` conv from 2 maps to 1 without bias and
  its batch norm's beta and gamma: `2 * k * k + 2`.
  """
  return se_param_count(channels, reduction_ratio) + 2 * kernel_size ** 2 + 2


def _model_batch_norm_params():
  """The batch-norm params the enclosing arg_scope gives `slim.conv2d`.

  The spatial conv's batch norm then runs like every other batch norm of the
  model (decay, epsilon, training mode, update collection).
  """
  conv_defaults = slim.current_arg_scope().get(
      slim.arg_scope_func_key(slim.conv2d), {})
  return dict(conv_defaults.get('normalizer_params') or {})


@register_attention(
    'cbam_block', scope='cbam',
    hparams=[_REDUCTION_RATIO, ('kernel_size', HParam(7, validate_kernel_size))],
    gates=('channel_gate', 'spatial_gate'),
    variables=(r'channel/fc[12]/(weights|biases)|'
               r'spatial/conv/(weights|BatchNorm/(beta|gamma|moving_mean|'
               r'moving_variance))'),
    param_count=cbam_param_count,
    # The channel logits are the sum of two MLP outputs, each ending in the
    # fc2 bias: zero weights and half the logit each. The spatial conv with
    # zero weights gives a constant 0, which its batch norm maps to beta in
    # training mode (zero batch mean) and at inference (fresh moving mean 0).
    identity_init=collections.OrderedDict([
        (r'channel/fc2/weights', lambda gate: 0.0),
        (r'channel/fc2/biases', lambda gate: logit(gate) / 2.0),
        (r'spatial/conv/weights', lambda gate: 0.0),
        (r'spatial/conv/BatchNorm/beta', logit),
    ]))
def cbam_block(inputs, scope=None, reduction_ratio=DEFAULT_REDUCTION_RATIO,
               kernel_size=7):
  """Convolutional Block Attention Module of [2] (Fig. 1-2, Eq. 1-3).

  channel:  Mc = sigmoid(MLP(avgpool(F)) + MLP(maxpool(F)))  [batch, 1, 1, C]
            one shared MLP C -> max(1, C // r) -> C (ReLU inside), as SE's
            `fc1`/`fc2`; F' = F * Mc
  spatial:  Ms = sigmoid(BN(conv_kxk([mean_c(F'); max_c(F')])))
                                                             [batch, H, W, 1]
            k x k conv from 2 maps to 1 without bias, then batch norm, as in
            the authors' code (Jongchan/attention-module, `SpatialGate`)
  out:      F'' = F' * Ms                                    [batch, H, W, C]

  Variables: `<scope>/channel/fc{1,2}/{weights,biases}` and
  `<scope>/spatial/conv/{weights,BatchNorm/...}`, with `<scope>` defaulting
  to `cbam`. Gate end points: `<scope>/channel_gate`, `<scope>/spatial_gate`.
  The batch norm takes the model's batch-norm settings (decay, training
  mode) and always has both beta and gamma, as the authors' affine one.

  Args:
    inputs: 4-D tensor `[batch, height, width, channels]` with known channels.
    scope: optional variable scope; default 'cbam'.
    reduction_ratio: positive int r of the channel MLP; the paper uses 16.
    kernel_size: odd positive k of the spatial conv; the paper's best is 7
      ([2], Table 2).

  Returns:
    Tensor of the same shape as `inputs`.

  Raises:
    ValueError: for an invalid `reduction_ratio` or `kernel_size`, or
      `inputs` not 4-D with a known channel count.
  """
  reduction_ratio = validate_reduction_ratio(reduction_ratio)
  kernel_size = validate_kernel_size(kernel_size)
  channels = _channels(inputs, 'cbam_block')
  with tf.variable_scope(scope, 'cbam', [inputs]) as sc:
    with tf.variable_scope('channel'):
      avg_pool = tf.reduce_mean(inputs, [1, 2], keepdims=True, name='avg_pool')
      max_pool = tf.reduce_max(inputs, [1, 2], keepdims=True, name='max_pool')
      # One MLP for both descriptors: stacked along the batch axis, they go
      # through the same variables once.
      mlp = _excitation_mlp(tf.concat([avg_pool, max_pool], 0), channels,
                            reduction_ratio, activation_fn=None)
      avg_logits, max_logits = tf.split(mlp, 2, axis=0)
      channel_gate = tf.sigmoid(avg_logits + max_logits, name='gate')
    net = tf.multiply(inputs, channel_gate, name='channel_scale')
    with tf.variable_scope('spatial'):
      pooled = tf.concat([tf.reduce_mean(net, [3], keepdims=True),
                          tf.reduce_max(net, [3], keepdims=True)], 3)
      bn_params = dict(_model_batch_norm_params(), center=True, scale=True)
      conv = slim.conv2d(pooled, 1, [kernel_size, kernel_size], stride=1,
                         rate=1, padding='SAME', activation_fn=None,
                         normalizer_fn=slim.batch_norm,
                         normalizer_params=bn_params,
                         outputs_collections=None, scope='conv')
      spatial_gate = tf.sigmoid(conv, name='gate')
    record_gate(sc, 'channel_gate', channel_gate)
    record_gate(sc, 'spatial_gate', spatial_gate)
    return tf.multiply(net, spatial_gate, name='scale')


# --- ECA [3] ----------------------------------------------------------------


def _validate_positive_number(name):
  def validate(value):
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or
        not value > 0):
      raise ValueError('%s must be a positive number, got %r' % (name, value))
    return value
  return validate


def _validate_number(name):
  def validate(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
      raise ValueError('%s must be a number, got %r' % (name, value))
    return value
  return validate


def _validate_optional_kernel_size(kernel_size):
  return None if kernel_size is None else validate_kernel_size(kernel_size)


def eca_kernel_size(channels, gamma=2, b=1):
  """ECA's adaptive kernel size ([3], Eq. 12): |log2(C)/gamma + b/gamma|_odd.

  The odd neighbour is taken as the authors' code does: truncate, then add
  1 if even. E.g. C = 256 -> 5, 512 -> 5, 1024 -> 5, 2048 -> 7.
  """
  t = int(abs((math.log2(channels) + b) / gamma))
  return t if t % 2 else t + 1


def eca_param_count(channels, gamma=2, b=1, kernel_size=None):
  """Trainable parameters one ECA block adds: its kernel size k (no bias)."""
  return kernel_size or eca_kernel_size(channels, gamma, b)


@register_attention(
    'eca_block', scope='eca',
    hparams=[('gamma', HParam(2, _validate_positive_number('gamma'))),
             ('b', HParam(1, _validate_number('b'))),
             ('kernel_size', HParam(None, _validate_optional_kernel_size))],
    gates=('excitation',),
    variables=r'conv/weights',
    param_count=eca_param_count,
    identity_init=('its 1-D convolution has no bias ([3], Eq. 7), so no '
                   'weights give a gate that is the same for every input '
                   '(zero weights give 0.5)'))
def eca_block(inputs, scope=None, gamma=2, b=1, kernel_size=None):
  """Efficient Channel Attention of [3] (Fig. 2, Eq. 7 and 12).

  squeeze:    y = mean over H and W of `inputs`             [batch, 1, 1, C]
  excitation: w = sigmoid(conv1d_k(y)), one k-tap filter shared by all
              channels, across the channel axis, SAME padding, no bias
                                                             [batch, 1, 1, C]
  scale:      out = inputs * w                               [batch, H, W, C]

  `k` follows C: `eca_kernel_size(C, gamma, b)` unless `kernel_size` is
  given. The 1-D conv is a `1 x k` `slim.conv2d` on y laid out as a
  `[batch, 1, C, 1]` image, so it takes the model's weight decay and
  initializer. Variable: `<scope>/conv/weights` (`[1, k, 1, 1]`), with
  `<scope>` defaulting to `eca`. Gate end point: `<scope>/excitation`.

  Args:
    inputs: 4-D tensor `[batch, height, width, channels]` with known channels.
    scope: optional variable scope; default 'eca'.
    gamma: positive number of the adaptive rule; the paper's 2.
    b: offset of the adaptive rule; the paper's 1.
    kernel_size: None for the adaptive rule, or an odd positive k.

  Returns:
    Tensor of the same shape as `inputs`.

  Raises:
    ValueError: for invalid hyper-parameters, or `inputs` not 4-D with a
      known channel count.
  """
  gamma = _validate_positive_number('gamma')(gamma)
  b = _validate_number('b')(b)
  kernel_size = _validate_optional_kernel_size(kernel_size)
  channels = _channels(inputs, 'eca_block')
  k = kernel_size or eca_kernel_size(channels, gamma, b)
  with tf.variable_scope(scope, 'eca', [inputs]) as sc:
    squeezed = tf.reduce_mean(inputs, [1, 2], keepdims=True, name='squeeze')
    row = tf.reshape(squeezed, [-1, 1, channels, 1])
    conv = slim.conv2d(row, 1, [1, k], stride=1, rate=1, padding='SAME',
                       activation_fn=None, normalizer_fn=None,
                       normalizer_params=None, biases_initializer=None,
                       outputs_collections=None, scope='conv')
    gate = tf.reshape(tf.sigmoid(conv), [-1, 1, 1, channels],
                      name='excitation')
    record_gate(sc, 'excitation', gate)
    return tf.multiply(inputs, gate, name='scale')
