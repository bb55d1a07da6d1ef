"""The part of `tf.contrib.training.HParams` that TF-Slim's callers use.

TF-Slim's NASNet and PNASNet configurations are `HParams` objects, and code
written against Slim edits them: `config.set_hparam('use_aux_head', 0)`,
`config.num_cells`, `config.values()`. `tf.contrib` is gone (and tf_slim
ships no HParams), so this module provides that small part in one place:
attribute access, `set_hparam` with HParams' type rules, `values()`,
`override_from_dict`, `add_hparam`; plus `_replace` (a copy with changes,
as on a namedtuple), which the builders use so they never mutate a caller's
config.

Typical use:

    from nets.nasnet import nasnet

    config = nasnet.mobile_imagenet_config()   # a fresh copy per call
    config.set_hparam('num_cells', 6)
    config.set_hparam('use_aux_head', 0)
    logits, end_points = nasnet.build_nasnet_mobile(images, 1001,
                                                    config=config)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import numbers


def _cast(name, old, value):
  """`value` converted to the type of the current value `old`, as HParams.

  Raises:
    ValueError: if `value` cannot take that type without loss (a float into
      an int, a number into a bool or string, ...).
  """
  if old is None or value is None:
    return value
  if isinstance(old, bool):
    if isinstance(value, bool):
      return value
  elif isinstance(old, numbers.Integral):
    if (isinstance(value, numbers.Integral) and not isinstance(value, bool)):
      return int(value)
  elif isinstance(old, numbers.Real):
    if (isinstance(value, numbers.Real) and not isinstance(value, bool)):
      return float(value)
  elif isinstance(old, str):
    if isinstance(value, str):
      return value
  else:
    return value
  raise ValueError('Could not set hparam %r: %r (a %s) is not compatible with '
                   'its type %s' % (name, value, type(value).__name__,
                                    type(old).__name__))


class HParams(object):
  """Named hyper-parameters with attribute access (TF-Slim's config type).

  Args:
    **hparams: the names and initial values.
  """

  def __init__(self, **hparams):
    object.__setattr__(self, '_names', [])
    for name, value in hparams.items():
      self.add_hparam(name, value)

  def add_hparam(self, name, value):
    """Adds a new hyper-parameter.

    Raises:
      ValueError: if `name` exists already or is not a valid name.
    """
    if name in self._names or name.startswith('_') or hasattr(
        type(self), name):
      raise ValueError('Hyperparameter name %r is reserved or exists '
                       'already' % (name,))
    self._names.append(name)
    object.__setattr__(self, name, value)

  def set_hparam(self, name, value):
    """Sets an existing hyper-parameter, keeping its type.

    Raises:
      ValueError: for an unknown name (the message lists the known ones) or
        a value of an incompatible type.
    """
    if name not in self._names:
      raise ValueError('Unknown hparam %r; expected one of: %s' %
                       (name, ', '.join(sorted(self._names))))
    object.__setattr__(self, name, _cast(name, getattr(self, name), value))

  def __setattr__(self, name, value):
    self.set_hparam(name, value)

  def override_from_dict(self, values_dict):
    """Sets every `name: value` of `values_dict`; returns self."""
    for name, value in values_dict.items():
      self.set_hparam(name, value)
    return self

  def values(self):
    """A dict from each name to its value."""
    return {name: getattr(self, name) for name in self._names}

  def _replace(self, **changes):
    """A copy with `changes` set (the builders' non-mutating update)."""
    return HParams(**self.values()).override_from_dict(changes)

  def __contains__(self, name):
    return name in self._names

  def __eq__(self, other):
    return isinstance(other, HParams) and self.values() == other.values()

  def __ne__(self, other):
    return not self == other

  __hash__ = None  # mutable

  def __repr__(self):
    return 'HParams(%s)' % ', '.join(
        '%s=%r' % (name, getattr(self, name)) for name in self._names)
