"""Horovod data-parallel training: `--distribution=horovod`.

`horovodrun -np N python train_image_classifier.py --distribution=horovod
...` starts N copies of the training script, one per GPU (or, without GPUs,
N CPU processes); Horovod [1] connects them (Gloo or MPI) and each process
(a "rank") trains one replica of the model:

* **devices**: each process sees only the GPU of its local rank (the
  session config's `gpu_options.visible_device_list`), so N processes on a
  machine use its N GPUs, one each, whatever `CUDA_VISIBLE_DEVICES` says;
* **gradients**: `hvd.DistributedOptimizer` averages every gradient over
  the ranks (allreduce) before the update, so all replicas apply the same
  update to the same weights;
* **initial variables**: after the session starts (initialized, resumed
  from `train_dir` or warm-started from `--checkpoint_path` on rank 0), all
  global variables (weights, optimizer slots, global step, loss scale) are
  broadcast from rank 0, so every rank starts from rank 0's state;
* **data**: rank r reads the record files r, r + N, r + 2N, ... of the
  split, so the ranks see disjoint data (the split needs >= N files);
* **learning rate**: `--horovod_lr_scaling=linear` (the default)
  multiplies `--learning_rate` and `--end_learning_rate` by N, as the
  global batch is N x `--batch_size` (Goyal et al. [2]; Horovod's own
  examples do the same); `none` keeps them. The decay schedule counts each
  rank's steps, as Slim counts each clone's;
* **batch norm** statistics are per replica, as with Slim's clones: each
  rank normalizes with its own batch's moments and updates its own moving
  averages; rank 0's are the ones saved;
* **output**: checkpoints, summaries and `flags.txt` are written by rank 0
  only; every rank logs its progress lines;
* **failures**: the NaN/Inf guard watches the loss averaged over the ranks,
  so every rank stops at the same step with the same one-line error; a bad
  flag fails on every rank before any collective op; when any rank exits,
  `horovodrun` stops the others, so nothing hangs.

Horovod is optional (`make horovod`, requirements-horovod.txt); without it
`--distribution=horovod` fails with one line saying how to install it.

References:
  [1] Sergeev and Del Balso, Horovod: fast and easy distributed deep
      learning in TensorFlow, arXiv:1802.05799.
  [2] Goyal et al., Accurate, Large Minibatch SGD: Training ImageNet in 1
      Hour, arXiv:1706.02677.

Typical use (what `training.train` does):

    replica = hvd.start(config.distribution)   # None unless 'horovod'
    if replica:
      config = replica.resolve_config(config)
      dataset = replica.shard(dataset)
      optimizer = replica.wrap_optimizer(optimizer)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import copy
import dataclasses

from absl import logging

from train_lib import errors

DISTRIBUTIONS = ('clones', 'horovod')
LR_SCALINGS = ('linear', 'none')

INSTALL_HINT = (
    '--distribution=horovod needs Horovod, which is not installed: run '
    '`make horovod` (builds horovod from requirements-horovod.txt into the '
    'venv; needs cmake and g++), then start training with `horovodrun -np N '
    'python train_image_classifier.py --distribution=horovod ...`')


def start(distribution):
  """Initializes Horovod for `--distribution=horovod`.

  Args:
    distribution: one of `DISTRIBUTIONS`.

  Returns:
    A `Replica` for 'horovod', None for 'clones'.

  Raises:
    errors.UserError: unknown distribution, or Horovod not installed.
  """
  if distribution in (None, '', 'clones'):
    return None
  if distribution != 'horovod':
    raise errors.UserError('Unknown distribution %r; expected one of: %s' %
                           (distribution, ', '.join(DISTRIBUTIONS)))
  try:
    import horovod.tensorflow as hvd_tf  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise errors.UserError(INSTALL_HINT)
  hvd_tf.init()
  return Replica(hvd_tf)


class Replica(object):
  """This process's place among the Horovod ranks, and what it changes."""

  def __init__(self, hvd_module):
    self._hvd = hvd_module
    self.rank = hvd_module.rank()
    self.size = hvd_module.size()
    self.local_rank = hvd_module.local_rank()

  @property
  def is_chief(self):
    """Rank 0 writes checkpoints, summaries and flags.txt."""
    return self.rank == 0

  def resolve_config(self, config, lr_scaling='linear'):
    """Checks `config` for Horovod and scales its learning rates.

    Args:
      config: a `training.TrainConfig`.
      lr_scaling: 'linear' (x number of ranks) or 'none'.

    Returns:
      The config with the learning rates scaled.

    Raises:
      errors.UserError: settings Horovod replaces (clones, ps/worker,
        sync replicas) or an unknown scaling.
    """
    if lr_scaling not in LR_SCALINGS:
      raise errors.UserError('Unknown horovod_lr_scaling %r; expected one '
                             'of: %s' % (lr_scaling, ', '.join(LR_SCALINGS)))
    conflicts = [name for name, bad in (
        ('--num_clones=%d' % config.num_clones, config.num_clones != 1),
        ('--ps_hosts/--worker_hosts', bool(config.ps_hosts or
                                           config.worker_hosts)),
        ('--job_name', bool(config.job_name)),
        ('--sync_replicas', config.sync_replicas),
        ('--worker_replicas=%d' % config.worker_replicas,
         config.worker_replicas != 1),
        ('--num_ps_tasks=%d' % config.num_ps_tasks, config.num_ps_tasks != 0),
        ('--task=%d' % config.task, config.task != 0)) if bad]
    if conflicts:
      raise errors.UserError(
          '--distribution=horovod runs one process per GPU and replaces '
          'clones and ps/worker training; drop %s' % ', '.join(conflicts))
    factor = self.size if lr_scaling == 'linear' else 1
    if self.is_chief:
      logging.info('Horovod: %d ranks; learning rate x %d (%s scaling)',
                   self.size, factor, lr_scaling)
    return dataclasses.replace(
        config, learning_rate=config.learning_rate * factor,
        end_learning_rate=config.end_learning_rate * factor)

  def shard(self, dataset):
    """Returns `dataset` (a DatasetSplit) with this rank's record files.

    Raises:
      errors.UserError: if the split has fewer files than ranks.
    """
    files = list(dataset.files)
    if len(files) < self.size:
      raise errors.UserError(
          '--distribution=horovod with %d ranks needs at least %d record '
          'files, but split %r of %s has %d; convert it into more shards or '
          'start fewer ranks' % (self.size, self.size, dataset.split_name,
                                 dataset.name, len(files)))
    shard = copy.copy(dataset)
    shard.files = files[self.rank::self.size]
    # The conversion's completeness is a property of the whole split (every
    # shard of the `-of-` set): input_pipeline.check_split_is_complete judges
    # this one by the files of `whole_split`, not by the rank's share.
    shard.whole_split = getattr(dataset, 'whole_split', None) or dataset
    return shard

  def wrap_optimizer(self, optimizer):
    """Averages the gradients over the ranks (Horovod's allreduce)."""
    return self._hvd.DistributedOptimizer(optimizer)

  def average(self, tensor):
    """`tensor` averaged over the ranks (a collective: every rank runs it)."""
    return self._hvd.allreduce(tensor)

  def hooks(self):
    """Hooks every rank runs: broadcast of the initial variables."""
    return [self._hvd.BroadcastGlobalVariablesHook(0)]

  def configure_session(self, session_config, num_gpus):
    """Pins this process to the GPU of its local rank (if there are GPUs).

    Raises:
      errors.UserError: if the machine has fewer GPUs than local ranks.
    """
    if num_gpus and self.local_rank >= num_gpus:
      raise errors.UserError(
          'Horovod local rank %d has no GPU: this machine has %d; start at '
          'most %d processes per machine (horovodrun -H host:%d)' %
          (self.local_rank, num_gpus, num_gpus, num_gpus))
    if num_gpus:
      session_config.gpu_options.visible_device_list = str(self.local_rank)
    return session_config
