"""Slim's seven optimizers as one table: `--optimizer` name -> constructor.

Each entry of `OPTIMIZERS` names the `tf.train` constructor and which flag
(a `TrainConfig` field of the same name) feeds each of its keyword
arguments. The table is the only place that knows them: `--optimizer` takes
its choices from `names()`, `build` constructs from it, and `check_name`
rejects an unknown name listing the valid ones (Slim's
`_configure_optimizer` is an if/elif chain whose error passes a tuple to
`ValueError` and never formats it).

Typical use:

    optimizers.check_name(config.optimizer)
    optimizer = optimizers.build(config.optimizer, learning_rate, config)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections

import tensorflow.compat.v1 as tf

from train_lib import errors

OptimizerSpec = collections.namedtuple('OptimizerSpec', [
    'constructor',  # called as constructor(learning_rate, **kwargs)
    'flags',  # dict: constructor keyword -> the flag whose value it takes
    'fixed',  # dict: constructor keyword -> constant (Slim's choices)
])

OPTIMIZERS = {
    'adadelta': OptimizerSpec(tf.train.AdadeltaOptimizer,
                              {'rho': 'adadelta_rho',
                               'epsilon': 'opt_epsilon'}, {}),
    'adagrad': OptimizerSpec(
        tf.train.AdagradOptimizer,
        {'initial_accumulator_value': 'adagrad_initial_accumulator_value'},
        {}),
    'adam': OptimizerSpec(tf.train.AdamOptimizer,
                          {'beta1': 'adam_beta1', 'beta2': 'adam_beta2',
                           'epsilon': 'opt_epsilon'}, {}),
    'ftrl': OptimizerSpec(
        tf.train.FtrlOptimizer,
        {'learning_rate_power': 'ftrl_learning_rate_power',
         'initial_accumulator_value': 'ftrl_initial_accumulator_value',
         'l1_regularization_strength': 'ftrl_l1',
         'l2_regularization_strength': 'ftrl_l2'}, {}),
    # Slim names the momentum optimizer's slots 'Momentum'; checkpoints
    # (and resuming from them) depend on it.
    'momentum': OptimizerSpec(tf.train.MomentumOptimizer,
                              {'momentum': 'momentum'}, {'name': 'Momentum'}),
    'rmsprop': OptimizerSpec(tf.train.RMSPropOptimizer,
                             {'decay': 'rmsprop_decay',
                              'momentum': 'rmsprop_momentum',
                              'epsilon': 'opt_epsilon'}, {}),
    'sgd': OptimizerSpec(tf.train.GradientDescentOptimizer, {}, {}),
}


def names():
  """The `--optimizer` choices, sorted."""
  return sorted(OPTIMIZERS)


def hyperparameter_flags():
  """Every flag some optimizer reads, sorted (e.g. 'adam_beta1')."""
  return sorted({flag for spec in OPTIMIZERS.values()
                 for flag in spec.flags.values()})


def describe():
  """'adadelta (adadelta_rho, opt_epsilon), ..., sgd ()': for --help."""
  return ', '.join('%s (%s)' % (name, ', '.join(sorted(set(
      OPTIMIZERS[name].flags.values())))) for name in names())


def check_name(name):
  """Raises `errors.UserError` unless `name` is in the table.

  The message quotes `name` and lists the valid choices.
  """
  if name not in OPTIMIZERS:
    raise errors.UserError('Unknown optimizer %r; expected one of: %s' %
                           (name, ', '.join(names())))


def build(name, learning_rate, hparams):
  """Returns optimizer `name` with its hyper-parameters read from `hparams`.

  Args:
    name: one of `names()`.
    learning_rate: a float or scalar tensor.
    hparams: any object with an attribute per flag of the entry (a
      `training.TrainConfig`).

  Returns:
    A `tf.train.Optimizer`.

  Raises:
    errors.UserError: for an unknown name.
  """
  check_name(name)
  spec = OPTIMIZERS[name]
  kwargs = dict(spec.fixed)
  for keyword, flag in spec.flags.items():
    kwargs[keyword] = getattr(hparams, flag)
  return spec.constructor(learning_rate, **kwargs)
