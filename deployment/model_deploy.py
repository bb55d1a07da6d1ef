"""Deploys a model as clones over devices, replicas and parameter servers.

This module keeps TF-Slim's `deployment/model_deploy.py` public API, so code
written against Slim keeps working:

* `DeploymentConfig` says how many clones (model copies, one per GPU or all on
  the CPU) run in this replica, how many replicas (worker tasks) there are and
  how many parameter-server tasks hold the variables.
* `create_clones(config, model_fn)` calls `model_fn` once per clone, under the
  clone's name scope and device. Variables are shared between clones and
  placed on `config.variables_device()`, so their names never carry the clone
  scope: a checkpoint written with 4 clones restores into 1 and back.
* `optimize_clones(clones, optimizer)` sums each clone's `LOSSES` (divided by
  the number of clones, so that the combined loss and gradients are the
  average over clones), adds the regularization losses to the first clone
  only, computes each clone's gradients on its own device and sums them.
* `deploy(...)` does all of the above plus `apply_gradients`, and groups the
  first clone's `UPDATE_OPS` (batch-norm statistics) with the update into an
  op named `train_op`.

Device strings are built from the config alone, never from what the machine
has, so they can be checked on a CPU-only host; whether to put clones on the
CPU is the caller's decision (`train_image_classifier.py` does so when no GPU
is present).

Typical use:

    from deployment import model_deploy

    config = model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True)

    def model_fn(images, labels):
      logits, _ = network_fn(images)
      tf.losses.softmax_cross_entropy(labels, logits)

    with tf.device(config.variables_device()):
      global_step = tf.train.get_or_create_global_step()
    clones = model_deploy.create_clones(config, model_fn, [images, labels])
    total_loss, grads_and_vars = model_deploy.optimize_clones(clones, opt)
    train_op = opt.apply_gradients(grads_and_vars, global_step=global_step)

    # or, in one call:
    model = model_deploy.deploy(config, model_fn, [images, labels],
                                optimizer=opt)
    # model.train_op, model.total_loss, model.summary_op, model.clones
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections

import tensorflow.compat.v1 as tf
import tf_slim as slim

__all__ = [
    'Clone',
    'DeployedModel',
    'DeploymentConfig',
    'create_clones',
    'deploy',
    'optimize_clones',
]

# One clone of the model: what `model_fn` returned, the clone's name scope
# ('' for a single clone, else 'clone_<i>/') and its device string.
Clone = collections.namedtuple('Clone', ['outputs', 'scope', 'device'])

# What `deploy()` returns.
DeployedModel = collections.namedtuple(
    'DeployedModel', ['train_op', 'summary_op', 'total_loss', 'clones'])

# Op types that hold variable state; the round-robin chooser places only
# these on parameter servers.
_VARIABLE_OP_TYPES = ('Variable', 'VariableV2', 'VarHandleOp')


class DeploymentConfig(object):
  """Where clones, inputs, variables and the optimizer of a model run.

  A deployment has `num_replicas` worker tasks (replicas), each running
  `num_clones` copies of the model. With `num_ps_tasks > 0` the variables live
  on the parameter-server tasks of job `ps_job_name`, spread round-robin, and
  the clones on the local worker of job `worker_job_name`.
  """

  def __init__(self, num_clones=1, clone_on_cpu=False, replica_id=0,
               num_replicas=1, num_ps_tasks=0, worker_job_name='worker',
               ps_job_name='ps'):
    """Creates a DeploymentConfig.

    Args:
      num_clones: number of model clones in this replica (>= 1).
      clone_on_cpu: if True, every clone goes on the CPU, else clone `i` goes
        on GPU `i`.
      replica_id: index of this replica (worker task), 0 is the chief.
      num_replicas: number of replicas (worker tasks).
      num_ps_tasks: number of parameter-server tasks; 0 keeps the variables
        on this worker's CPU.
      worker_job_name: job name of the workers in the cluster spec.
      ps_job_name: job name of the parameter servers in the cluster spec.

    Raises:
      ValueError: if `num_clones < 1`, if `num_replicas > 1` without
        parameter servers, or if `replica_id` is not below `num_replicas`.
    """
    if num_clones < 1:
      raise ValueError('num_clones must be >= 1, got %r' % (num_clones,))
    if num_replicas > 1 and num_ps_tasks < 1:
      raise ValueError('With num_replicas=%d > 1, num_ps_tasks must be >= 1 '
                       '(the variables need parameter servers)' % num_replicas)
    if num_replicas < 1:
      raise ValueError('num_replicas must be >= 1, got %r' % (num_replicas,))
    if not 0 <= replica_id < num_replicas:
      raise ValueError('replica_id must be in [0, num_replicas=%d), got %r' %
                       (num_replicas, replica_id))
    if num_ps_tasks < 0:
      raise ValueError('num_ps_tasks must be >= 0, got %r' % (num_ps_tasks,))
    self._num_clones = num_clones
    self._clone_on_cpu = clone_on_cpu
    self._replica_id = replica_id
    self._num_replicas = num_replicas
    self._num_ps_tasks = num_ps_tasks
    self._ps_device = '/job:' + ps_job_name if num_ps_tasks > 0 else ''
    self._worker_device = '/job:' + worker_job_name if num_ps_tasks > 0 else ''

  @property
  def num_clones(self):
    return self._num_clones

  @property
  def clone_on_cpu(self):
    return self._clone_on_cpu

  @property
  def replica_id(self):
    return self._replica_id

  @property
  def num_replicas(self):
    return self._num_replicas

  @property
  def num_ps_tasks(self):
    return self._num_ps_tasks

  @property
  def ps_device(self):
    return self._ps_device

  @property
  def worker_device(self):
    return self._worker_device

  def caching_device(self):
    """Returns the caching device for variables, or None.

    With parameter servers, variables are cached where they are read (the
    device of the reading op), so each clone reads a variable from the
    parameter server once per step.

    Returns:
      A device function, or None when variables are local.
    """
    if self._num_ps_tasks > 0:
      return lambda op: op.device
    return None

  def clone_device(self, clone_index):
    """Returns the device string of clone `clone_index`.

    Args:
      clone_index: int in `[0, num_clones)`.

    Returns:
      '/device:GPU:<i>' or '/device:CPU:0', prefixed by the worker job when
      there are parameter servers.

    Raises:
      ValueError: if `clone_index` is out of range.
    """
    if not 0 <= clone_index < self._num_clones:
      raise ValueError('clone_index must be in [0, num_clones=%d), got %r' %
                       (self._num_clones, clone_index))
    device = self._worker_device
    if self._clone_on_cpu:
      device += '/device:CPU:0'
    else:
      device += '/device:GPU:%d' % clone_index
    return device

  def clone_scope(self, clone_index):
    """Returns the name scope of clone `clone_index`: '' for a lone clone.

    Raises:
      ValueError: if `clone_index` is out of range.
    """
    if not 0 <= clone_index < self._num_clones:
      raise ValueError('clone_index must be in [0, num_clones=%d), got %r' %
                       (self._num_clones, clone_index))
    if self._num_clones == 1:
      return ''
    return 'clone_%d' % clone_index

  def optimizer_device(self):
    """Returns the device of the optimizer's ops: the worker's CPU."""
    return self._worker_device + '/device:CPU:0'

  def inputs_device(self):
    """Returns the device of the input pipeline: the worker's CPU."""
    return self._worker_device + '/device:CPU:0'

  def variables_device(self):
    """Returns the device of the variables.

    Returns:
      '/device:CPU:0' when variables are local, else a device function that
      places each variable on the next parameter-server task in turn
      (round-robin) and leaves other ops where they are.
    """
    device = self._ps_device + '/device:CPU:0'
    if self._num_ps_tasks == 0:
      return device
    return _RoundRobinPsChooser(self._num_ps_tasks, device)


class _RoundRobinPsChooser(object):
  """Device function placing variables on ps tasks 0, 1, ..., 0, 1, ..."""

  def __init__(self, num_tasks, device):
    self._num_tasks = num_tasks
    self._device = device
    self._next_task = 0

  def __call__(self, op):
    if op.device:
      return op.device
    node_def = op if isinstance(op, tf.NodeDef) else op.node_def
    if node_def.op not in _VARIABLE_OP_TYPES:
      return op.device
    task = self._next_task
    self._next_task = (self._next_task + 1) % self._num_tasks
    spec = tf.DeviceSpec.from_string(self._device)
    return spec.replace(task=task).to_string()


def create_clones(config, model_fn, args=None, kwargs=None):
  """Builds `config.num_clones` clones by calling `model_fn` once per clone.

  Each call runs under the clone's name scope and device. Variables created
  with `slim.model_variable` / `slim.variable` (every slim layer) go on
  `config.variables_device()`, and clones after the first reuse the first
  clone's variables, so variable names carry no clone prefix. `model_fn`
  should add its losses with `tf.losses` (collection `LOSSES`).

  Args:
    config: a `DeploymentConfig`.
    model_fn: callable `model_fn(*args, **kwargs)`.
    args: optional list of positional arguments for `model_fn`.
    kwargs: optional dict of keyword arguments for `model_fn`.

  Returns:
    A list of `Clone(outputs, scope, device)`, one per clone.
  """
  clones = []
  args = args or []
  kwargs = kwargs or {}
  with slim.arg_scope([slim.model_variable, slim.variable],
                      device=config.variables_device()):
    for i in range(config.num_clones):
      with tf.name_scope(config.clone_scope(i)) as clone_scope:
        clone_device = config.clone_device(i)
        with tf.device(clone_device):
          with tf.variable_scope(tf.get_variable_scope(),
                                 reuse=True if i > 0 else None):
            outputs = model_fn(*args, **kwargs)
          clones.append(Clone(outputs, clone_scope, clone_device))
  return clones


def _gather_clone_loss(clone, num_clones, regularization_losses):
  """Returns the loss of one clone (with `regularization_losses`), or None.

  The clone's `LOSSES` are summed, then divided by `num_clones` when there is
  more than one clone, so that summing over clones averages them.
  """
  sum_loss = None
  clone_loss = None
  regularization_loss = None
  with tf.device(clone.device):
    all_losses = []
    clone_losses = tf.get_collection(tf.GraphKeys.LOSSES, clone.scope)
    if clone_losses:
      clone_loss = tf.add_n(clone_losses, name='clone_loss')
      if num_clones > 1:
        clone_loss = tf.div(clone_loss, 1.0 * num_clones,
                            name='scaled_clone_loss')
      all_losses.append(clone_loss)
    if regularization_losses:
      regularization_loss = tf.add_n(regularization_losses,
                                     name='regularization_loss')
      all_losses.append(regularization_loss)
    if all_losses:
      sum_loss = tf.add_n(all_losses)
  if clone_loss is not None:
    tf.summary.scalar('/'.join(filter(None, ['Losses', clone.scope.rstrip('/'),
                                             'clone_loss'])), clone_loss)
  if regularization_loss is not None:
    tf.summary.scalar('Losses/regularization_loss', regularization_loss)
  return sum_loss


def _optimize_clone(optimizer, clone, num_clones, regularization_losses,
                    **kwargs):
  """Returns `(clone_loss, grads_and_vars)` of one clone; both None if lossless."""
  sum_loss = _gather_clone_loss(clone, num_clones, regularization_losses)
  clone_grad = None
  if sum_loss is not None:
    with tf.device(clone.device):
      clone_grad = optimizer.compute_gradients(sum_loss, **kwargs)
  return sum_loss, clone_grad


def _sum_clones_gradients(clone_grads):
  """Sums, variable by variable, the gradients of several clones.

  Args:
    clone_grads: list (one per clone) of lists of `(gradient, variable)`
      pairs, all in the same variable order.

  Returns:
    A list of `(summed_gradient, variable)`, leaving out variables that have
    no gradient in any clone.
  """
  sum_grads = []
  for grad_and_vars in zip(*clone_grads):
    var = grad_and_vars[0][1]
    grads = [g for g, _ in grad_and_vars if g is not None]
    if not grads:
      continue
    if len(grads) == 1:
      sum_grad = grads[0]
    elif all(isinstance(g, tf.IndexedSlices) for g in grads):
      sum_grad = tf.IndexedSlices(
          tf.concat([g.values for g in grads], 0),
          tf.concat([g.indices for g in grads], 0), grads[0].dense_shape)
    else:
      sum_grad = tf.add_n([tf.convert_to_tensor(g) for g in grads],
                          name=var.op.name + '/sum_grads')
    sum_grads.append((sum_grad, var))
  return sum_grads


def optimize_clones(clones, optimizer, regularization_losses=None, **kwargs):
  """Computes the combined loss and the summed gradients of all clones.

  Each clone's loss is the sum of its `LOSSES` divided by the number of
  clones; the regularization losses (by default the graph's
  `REGULARIZATION_LOSSES`) are added to the first clone only. The summed
  gradients are therefore those of the average clone loss plus the
  regularization.

  Args:
    clones: list of `Clone`s from `create_clones`.
    optimizer: a `tf.train.Optimizer`.
    regularization_losses: optional list of regularization losses; None takes
      the graph's `REGULARIZATION_LOSSES`.
    **kwargs: passed on to `optimizer.compute_gradients` (e.g. `var_list`).

  Returns:
    `(total_loss, grads_and_vars)`: `total_loss` is a scalar tensor named
    'total_loss', `grads_and_vars` a list of `(gradient, variable)` pairs.

  Raises:
    ValueError: if no clone has any loss.
  """
  grads_and_vars = []
  clones_losses = []
  num_clones = len(clones)
  if regularization_losses is None:
    regularization_losses = tf.get_collection(
        tf.GraphKeys.REGULARIZATION_LOSSES)
  for clone in clones:
    with tf.name_scope(clone.scope):
      clone_loss, clone_grad = _optimize_clone(
          optimizer, clone, num_clones, regularization_losses, **kwargs)
      if clone_loss is not None:
        clones_losses.append(clone_loss)
        grads_and_vars.append(clone_grad)
      # Only the first clone carries the regularization losses.
      regularization_losses = None
  if not clones_losses:
    raise ValueError('No losses found: model_fn must add its losses with '
                     'tf.losses (collection LOSSES)')
  total_loss = tf.add_n(clones_losses, name='total_loss')
  return total_loss, _sum_clones_gradients(grads_and_vars)


def _add_gradients_summaries(grads_and_vars):
  """Adds a histogram of each gradient and of its norm; returns them."""
  summaries = []
  for grad, var in grads_and_vars:
    if grad is None:
      continue
    values = grad.values if isinstance(grad, tf.IndexedSlices) else grad
    summaries.append(tf.summary.histogram(var.op.name + ':gradient', values))
    summaries.append(tf.summary.histogram(var.op.name + ':gradient_norm',
                                          tf.global_norm([values])))
  return summaries


def deploy(config, model_fn, args=None, kwargs=None, optimizer=None,
           summarize_gradients=False):
  """Builds clones, their combined loss and, with an optimizer, a train op.

  Args:
    config: a `DeploymentConfig`.
    model_fn: callable adding the model's losses to `LOSSES`.
    args: optional positional arguments for `model_fn`.
    kwargs: optional keyword arguments for `model_fn`.
    optimizer: optional `tf.train.Optimizer`; without it only the loss is
      built and `train_op` is None.
    summarize_gradients: whether to add histograms of the gradients.

  Returns:
    A `DeployedModel(train_op, summary_op, total_loss, clones)`. `train_op`
    (named 'train_op') evaluates to the total loss after the gradient update
    and the first clone's `UPDATE_OPS` have run.
  """
  summaries = set(tf.get_collection(tf.GraphKeys.SUMMARIES))
  with tf.device(config.variables_device()):
    global_step = tf.train.get_or_create_global_step()
  clones = create_clones(config, model_fn, args, kwargs)
  first_clone = clones[0]
  # Batch-norm statistics are updated from the first clone only.
  update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS, first_clone.scope)

  train_op = None
  total_loss = None
  with tf.device(config.optimizer_device()):
    if optimizer:
      total_loss, clones_gradients = optimize_clones(clones, optimizer)
      if clones_gradients:
        if summarize_gradients:
          summaries |= set(_add_gradients_summaries(clones_gradients))
        grad_updates = optimizer.apply_gradients(clones_gradients,
                                                 global_step=global_step)
        update_ops.append(grad_updates)
        update_op = tf.group(*update_ops)
        with tf.control_dependencies([update_op]):
          train_op = tf.identity(total_loss, name='train_op')
    else:
      clones_losses = []
      regularization_losses = tf.get_collection(
          tf.GraphKeys.REGULARIZATION_LOSSES)
      for clone in clones:
        with tf.name_scope(clone.scope):
          clone_loss = _gather_clone_loss(clone, len(clones),
                                          regularization_losses)
          if clone_loss is not None:
            clones_losses.append(clone_loss)
          regularization_losses = None
      if clones_losses:
        total_loss = tf.add_n(clones_losses, name='total_loss')

    summaries |= set(tf.get_collection(tf.GraphKeys.SUMMARIES,
                                       first_clone.scope))
    if total_loss is not None:
      summaries.add(tf.summary.scalar('total_loss', total_loss))
    summary_op = None
    if summaries:
      summary_op = tf.summary.merge(sorted(summaries, key=lambda t: t.name),
                                    name='summary_op')
  return DeployedModel(train_op, summary_op, total_loss, clones)
