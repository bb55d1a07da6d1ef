"""Warm-starting a model from a checkpoint, including attention from none.

Users start SE (or CBAM, ECA) models from Slim's published ImageNet weights,
which have no attention. The plan made here sorts every model variable into
one of three sets:

* restored: found in the checkpoint with the same shape;
* excluded: matched by `checkpoint_exclude_scopes` (Slim's name prefixes,
  plus globs such as `*/se/*`), so initialised fresh;
* new: not in the checkpoint. Attention variables (those matching a module's
  variable pattern in `nets.attention`'s registry, e.g. `.../se/fc1`,
  `.../cbam/spatial/conv`, `.../eca/conv`) are new by nature when the
  checkpoint has none; any other missing variable is an error unless
  `ignore_missing_vars`.

A variable in the checkpoint with another shape that is not excluded is an
error naming the variable and both shapes (the usual cause: a new head with a
different number of classes, or 1000 vs 1001 ImageNet classes).

With `identity_init`, every attention block that was not restored starts as
its registry entry says it starts as identity (SE: the excitation output
layer `se/fc2` with zero weights and a bias `b` with
`sigmoid(b) = IDENTITY_GATE`), so each gate is ~1 for every input and the
attention network first computes (to ~1e-4 relative) what the pretrained
network computed ([1], Sec. 6: SE blocks on a pretrained trunk). ECA cannot
start so (its convolution has no bias): asking for it is an error.

References:
  [1] Hu et al., Squeeze-and-Excitation Networks, arXiv:1709.01507.

Typical use:

    plan = finetune.plan_warm_start(
        slim.get_model_variables(), '/ckpt/resnet_v1_50.ckpt',
        exclude_scopes='resnet_v1_50/logits', ignore_missing_vars=False)
    logging.info(plan.summary())
    init_fn = finetune.make_init_fn(plan, identity_init=True)
    ...
    init_fn(session)  # after variables are initialised
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
import fnmatch

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import attention
from train_lib import checkpoints
from train_lib import errors

# The gate value `identity_init` starts every attention gate with.
IDENTITY_GATE = 0.9999
SE_IDENTITY_GATE = IDENTITY_GATE  # its name when SE was the only module

WarmStartPlan = collections.namedtuple('WarmStartPlan', [
    'checkpoint',  # the checkpoint file (resolved from a directory)
    'restore',  # OrderedDict: checkpoint name -> variable
    'excluded',  # list of variables excluded by the scopes
    'new',  # list of variables not in the checkpoint
])


def is_attention_variable(name):
  """True if `name` (a variable op name) belongs to an attention module."""
  return attention.is_attention_variable(name)


def resolve_checkpoint(path):
  """Returns the checkpoint prefix of `path` (a prefix, its `.index` or
  `.data-*` file, or a directory: its latest readable checkpoint).

  Raises:
    errors.UserError: if there is no such checkpoint, or its files are
      missing or unreadable (e.g. a truncated `.data` file).
  """
  if not path:
    raise errors.UserError('No checkpoint path given')
  if tf.gfile.IsDirectory(path):
    latest = checkpoints.restorable(path)
    if not latest:
      raise errors.UserError('No checkpoint found in directory %s' % path)
    return latest
  path = checkpoints.checkpoint_prefix(path)
  if not tf.gfile.Exists(path + '.index'):
    raise errors.UserError('Checkpoint %s does not exist (expected %s.index)'
                           % (path, path))
  reason = checkpoints.why_unreadable(path)
  if reason:
    raise errors.UserError('Checkpoint %s is unreadable: %s' % (path, reason))
  return path


def parse_scopes(scopes):
  """Splits a comma-separated scope list; None or '' gives []."""
  if not scopes:
    return []
  if isinstance(scopes, (list, tuple)):
    return [s.strip() for s in scopes if s.strip()]
  return [s.strip() for s in scopes.split(',') if s.strip()]


def matches_scope(name, scopes):
  """True if `name` starts with one of `scopes`, or matches one as a glob."""
  for scope in scopes:
    if any(c in scope for c in '*?['):
      if fnmatch.fnmatchcase(name, scope):
        return True
    elif name.startswith(scope):
      return True
  return False


def plan_warm_start(variables, checkpoint_path, exclude_scopes=None,
                    ignore_missing_vars=False):
  """Decides which of `variables` to restore from `checkpoint_path`.

  Args:
    variables: the model variables (Slim: `slim.get_model_variables()`).
    checkpoint_path: checkpoint file or directory.
    exclude_scopes: comma-separated (or list of) name prefixes or globs.
    ignore_missing_vars: start non-attention variables missing from the
      checkpoint fresh instead of failing.

  Returns:
    A `WarmStartPlan`.

  Raises:
    errors.UserError: if the checkpoint does not exist, a non-excluded
      variable has another shape in the checkpoint, or non-attention ones are
      missing and `ignore_missing_vars` is False.
  """
  checkpoint = resolve_checkpoint(checkpoint_path)
  reader = tf.train.NewCheckpointReader(checkpoint)
  shapes = reader.get_variable_to_shape_map()
  scopes = parse_scopes(exclude_scopes)
  restore = collections.OrderedDict()
  excluded, new, missing = [], [], []
  for var in variables:
    name = var.op.name
    if matches_scope(name, scopes):
      excluded.append(var)
      continue
    if name not in shapes:
      new.append(var)
      if not is_attention_variable(name):
        missing.append(name)
      continue
    model_shape = var.get_shape().as_list()
    if list(shapes[name]) != model_shape:
      raise errors.UserError(
          'Variable %s has shape %s in the model but %s in checkpoint %s. '
          'Add its scope to --checkpoint_exclude_scopes to train it from '
          'scratch (e.g. the logits of a new head), or check --labels_offset '
          '(1000 vs 1001 ImageNet classes) and --model_name.' %
          (name, model_shape, list(shapes[name]), checkpoint))
    restore[name] = var
  if not restore:
    raise errors.UserError(
        'Checkpoint %s holds none of the model\'s %d variables (it has %d '
        'others); check --model_name and --checkpoint_path%s' %
        (checkpoint, len(variables), len(shapes),
         ' (--ignore_missing_vars would start every variable fresh)'
         if ignore_missing_vars else ''))
  if missing and not ignore_missing_vars:
    raise errors.UserError(
        '%d model variables are missing from checkpoint %s (first: %s); pass '
        '--ignore_missing_vars to start them fresh, or check --model_name' %
        (len(missing), checkpoint, ', '.join(missing[:3])))
  return WarmStartPlan(checkpoint, restore, excluded, new)


def plan_summary(plan):
  """One log line counting restored, excluded and new variables."""
  num_attention = sum(1 for v in plan.new if is_attention_variable(v.op.name))
  return ('Warm-starting from %s: restored %d variables, excluded %d, newly '
          'initialised %d (%d attention, %d other missing from the '
          'checkpoint)' %
          (plan.checkpoint, len(plan.restore), len(plan.excluded),
           len(plan.new), num_attention, len(plan.new) - num_attention))


def se_identity_bias(gate=IDENTITY_GATE):
  """The SE fc2 bias b with sigmoid(b) == gate."""
  return attention.logit(gate)


def identity_init_op(variables, gate=IDENTITY_GATE):
  """Returns `(op, {module: blocks})` starting the attention in `variables`
  near identity, as each module's registry entry says (see
  `attention.identity_init_op`).

  Raises:
    errors.UserError: if `variables` hold a module that cannot start as
      identity (ECA); the message names the modules that can.
  """
  try:
    return attention.identity_init_op(variables, gate)
  except ValueError as e:
    raise errors.UserError('--attention_identity_init: %s' % e)


def make_init_fn(plan=None, identity_init=False, variables=None,
                 log_fn=None):
  """Returns `init_fn(session)` applying `plan` and the identity start.

  Must be called while the graph can still be changed (it creates a Saver
  and assign ops).

  Args:
    plan: a `WarmStartPlan`, or None to restore nothing.
    identity_init: start the fresh attention gates near identity.
    variables: the model variables; needed only when `plan` is None.
    log_fn: optional callable for log lines.

  Returns:
    A callable taking a session, or None when there is nothing to do.

  Raises:
    errors.UserError: if `identity_init` is asked of a module that cannot
      start as identity.
  """
  log_fn = log_fn or tf.logging.info
  saver = None
  if plan is not None and plan.restore:
    saver = tf.train.Saver(plan.restore, name='warm_start_saver')
  identity_op = None
  if identity_init:
    fresh = (plan.new + plan.excluded) if plan is not None else variables
    identity_op, counts = identity_init_op(fresh or [])
    if counts:
      log_fn('Attention identity init: %s start with every gate %.4f' %
             (', '.join('%d %s' % (n, name) for name, n in counts.items()),
              IDENTITY_GATE))
    else:
      identity_op = None
  if saver is None and identity_op is None:
    return None

  def init_fn(session):
    if saver is not None:
      saver.restore(session, plan.checkpoint)
    if identity_op is not None:
      session.run(identity_op)

  return init_fn


def model_variables():
  """The variables Slim warm-starts: `slim.get_model_variables()`."""
  return slim.get_model_variables()
