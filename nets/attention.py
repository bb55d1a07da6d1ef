"""Attention modules, chosen by name, applied at one place per block.

Every model in `nets/` takes `attention_module=None` (off) or a name from this
registry, plus the module's hyper-parameters (for SE: `reduction_ratio`), and
calls `apply_attention` at one documented point of each block. With the module
off, `apply_attention` returns its input untouched and adds nothing to the
graph, so variable names stay those of the published TF-Slim checkpoints.

Contract of a registered block function:

    fn(inputs, scope=None, **hparams) -> tensor

`inputs` is a 4-D NHWC tensor `[batch, height, width, channels]`; the result has
the same shape. The function creates its variables under one sub-scope of the
caller's scope (`scope`, or its own default name) and takes layer defaults
(weight decay, initializers) from the caller's `arg_scope`.

The SE block records its excitation (the per-channel gate) in the graph
collection `EXCITATIONS`; `nets_factory` adds each one to a model's end points
as `<block scope>/excitation`, so what SE learns can be inspected.

References:
  [1] Hu et al., Squeeze-and-Excitation Networks, arXiv:1709.01507.

Typical use:

    from nets import attention

    net = attention.apply_attention('se_block', net, reduction_ratio=16)
    net = attention.apply_attention(None, net)  # off: returns `net` itself
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
import numbers

import tensorflow.compat.v1 as tf
import tf_slim as slim

# Graph collection holding each SE block's gate, aliased '<scope>/excitation'.
EXCITATIONS = 'se_slim_excitations'

# The reduction ratio the SE paper uses throughout ([1], Sec. 6.1).
DEFAULT_REDUCTION_RATIO = 16

_ATTENTION_FNS = {}


def register_attention(name):
  """Decorator that adds a block function to the registry under `name`.

  Args:
    name: the string users pass as `attention_module`.

  Returns:
    A decorator that registers and returns the function unchanged.

  Raises:
    ValueError: if `name` is empty or already registered.
  """
  if not name or not isinstance(name, str):
    raise ValueError('Attention module name must be a non-empty string, got %r'
                     % (name,))

  def decorator(fn):
    if name in _ATTENTION_FNS:
      raise ValueError('Attention module %r is already registered (by %s)' %
                       (name, _ATTENTION_FNS[name].__name__))
    _ATTENTION_FNS[name] = fn
    return fn

  return decorator


def names():
  """Returns the registered attention module names, sorted."""
  return sorted(_ATTENTION_FNS)


def is_enabled(name):
  """True if `name` selects an attention module ('' and None mean off)."""
  return bool(name)


def get_attention_fn(name):
  """Returns the block function registered under `name`, or None if off.

  Args:
    name: a registered name, or None / '' for no attention.

  Returns:
    The block function, or None.

  Raises:
    ValueError: if `name` is not registered; the message lists valid names.
  """
  if not is_enabled(name):
    return None
  try:
    return _ATTENTION_FNS[name]
  except (KeyError, TypeError):
    raise ValueError('Unknown attention_module %r; expected one of: %s' %
                     (name, ', '.join(names())))


def validate_reduction_ratio(reduction_ratio):
  """Checks that `reduction_ratio` is a positive integer.

  Args:
    reduction_ratio: the SE reduction ratio r.

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


def apply_attention(name, inputs, scope=None, **hparams):
  """Applies the attention module `name` to `inputs`, or returns them if off.

  Args:
    name: a registered name, or None / '' for no attention.
    inputs: 4-D tensor `[batch, height, width, channels]`.
    scope: optional variable scope for the module's variables.
    **hparams: module hyper-parameters, e.g. `reduction_ratio` for SE.

  Returns:
    A tensor with the shape of `inputs`.

  Raises:
    ValueError: for an unknown name or invalid hyper-parameters.
  """
  fn = get_attention_fn(name)
  if fn is None:
    return inputs
  return fn(inputs, scope=scope, **hparams)


def se_units(channels, reduction_ratio):
  """Width of the SE bottleneck: `max(1, channels // reduction_ratio)`."""
  return max(1, channels // reduction_ratio)


def se_param_count(channels, reduction_ratio):
  """Trainable parameters one SE block adds on `channels` channels.

  Two fully connected layers with biases: C -> C/r -> C, i.e.
  `2 * C * C/r + C/r + C` with `C/r = max(1, C // r)`.
  """
  units = se_units(channels, reduction_ratio)
  return 2 * channels * units + units + channels


@register_attention('se_block')
def se_block(inputs, scope=None, reduction_ratio=DEFAULT_REDUCTION_RATIO):
  """Squeeze-and-Excitation block of [1], Fig. 1 and Eq. 2-4.

  squeeze:    z = mean over H and W of `inputs`           [batch, 1, 1, C]
  excitation: s = sigmoid(W2 relu(W1 z + b1) + b2)         [batch, 1, 1, C]
              W1: C -> max(1, C // r), W2: back to C
  scale:      out = inputs * s (broadcast over H and W)     [batch, H, W, C]

  The two fully connected layers are 1x1 `slim.conv2d`s on the squeezed
  `[batch, 1, 1, C]` tensor, so they take the weights regularizer and
  initializer of the enclosing model's arg_scope (its weight decay) while
  batch norm is turned off for them. Variables:
  `<scope>/fc1/{weights,biases}` and `<scope>/fc2/{weights,biases}`, with
  `<scope>` defaulting to `se`.

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
  shape = inputs.get_shape()
  if shape.ndims != 4 or shape[-1].value is None:
    raise ValueError('se_block needs a 4-D NHWC input with known channels, '
                     'got shape %s' % shape)
  channels = shape[-1].value
  with tf.variable_scope(scope, 'se', [inputs]) as sc:
    # A mean, not an avg-pool op: it works at any spatial size, including
    # dynamic ones, and keeps the squeeze exactly Eq. 2 of [1].
    squeezed = tf.reduce_mean(inputs, [1, 2], keepdims=True, name='squeeze')
    # The enclosing arg_scope may turn on batch norm, change the stride or
    # collect outputs as end points; the excitation wants none of that.
    with slim.arg_scope([slim.conv2d], stride=1, padding='SAME',
                        normalizer_fn=None, normalizer_params=None,
                        biases_initializer=tf.zeros_initializer(),
                        outputs_collections=None):
      hidden = slim.conv2d(squeezed, se_units(channels, reduction_ratio),
                           [1, 1], activation_fn=tf.nn.relu, scope='fc1')
      gate = slim.conv2d(hidden, channels, [1, 1], activation_fn=tf.sigmoid,
                         scope='fc2')
    slim.utils.collect_named_outputs(EXCITATIONS, sc.name + '/excitation',
                                     gate)
    return tf.multiply(inputs, gate, name='scale')


def collected_excitations(graph=None, start=0):
  """Returns `{alias: gate}` for SE gates recorded since index `start`.

  Args:
    graph: the graph to read (default: the current default graph).
    start: number of entries of `EXCITATIONS` to skip, as returned by
      `len(graph.get_collection(EXCITATIONS))` before a model was built.

  Returns:
    An ordered dict from '<block scope>/excitation' to `[batch, 1, 1, C]`
    gate tensors.
  """
  graph = graph or tf.get_default_graph()
  entries = graph.get_collection(EXCITATIONS)[start:]
  return collections.OrderedDict((t.aliases[-1], t) for t in entries)
