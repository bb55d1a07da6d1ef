"""The learning-rate schedule in Slim's epochs and in real epochs.

Slim converts `--num_epochs_per_decay` and `--warmup_epochs` to steps with
ONE clone's batch: `steps_per_epoch = num_samples / batch_size` (divided by
`replicas_to_aggregate` with sync replicas). We keep that meaning, so a Slim
user's flag file means the same here. But a step of `num_clones` clones
reads `batch_size * num_clones` images, so with 8 clones one "Slim epoch" is
8 real epochs: a recipe that wants a decay every 30 real epochs with 8 clones
must say `--num_epochs_per_decay=3.75`. `describe` gives both views, and
training logs them at start, warning when they differ.

Typical use:

    s = schedule.describe(1281167, batch_size=128, num_clones=8,
                          num_epochs_per_decay=3.75, warmup_epochs=0.625,
                          max_number_of_steps=125000)
    s.real_epochs_per_decay, s.real_warmup_epochs, s.real_total_epochs
    # 30.0, 5.0, 99.9
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections

from absl import logging

Schedule = collections.namedtuple('Schedule', [
    'global_batch',  # images per step: batch_size x clones (x aggregated)
    'slim_steps_per_epoch',  # Slim's: num_samples / one clone's batch
    'real_steps_per_epoch',  # num_samples / global_batch
    'decay_steps',  # int(slim_steps_per_epoch * num_epochs_per_decay)
    'warmup_steps',
    'real_epochs_per_decay',
    'real_warmup_epochs',
    'real_total_epochs',  # None without max_number_of_steps
])


def describe(num_samples, batch_size, num_clones=1, num_epochs_per_decay=2.0,
             warmup_epochs=0.0, max_number_of_steps=None, sync_replicas=False,
             replicas_to_aggregate=1):
  """Returns the `Schedule` of Slim's flags on a split of `num_samples`."""
  aggregated = replicas_to_aggregate if sync_replicas else 1
  slim_steps_per_epoch = num_samples / float(batch_size * aggregated)
  global_batch = batch_size * num_clones * aggregated
  real_steps_per_epoch = num_samples / float(global_batch)
  decay_steps = int(slim_steps_per_epoch * num_epochs_per_decay)
  warmup_steps = slim_steps_per_epoch * warmup_epochs
  return Schedule(
      global_batch=global_batch,
      slim_steps_per_epoch=slim_steps_per_epoch,
      real_steps_per_epoch=real_steps_per_epoch,
      decay_steps=decay_steps,
      warmup_steps=warmup_steps,
      real_epochs_per_decay=decay_steps / real_steps_per_epoch,
      real_warmup_epochs=warmup_steps / real_steps_per_epoch,
      real_total_epochs=(max_number_of_steps / real_steps_per_epoch
                         if max_number_of_steps else None))


def log(s, decay_type, num_epochs_per_decay, warmup_epochs, log_fn=None,
        warn_fn=None):
  """Logs the schedule in real epochs; warns if Slim's epochs differ.

  Args:
    s: a `Schedule`.
    decay_type: 'fixed', 'exponential' or 'polynomial'.
    num_epochs_per_decay: the flag's value (Slim's epochs).
    warmup_epochs: the flag's value (Slim's epochs).
    log_fn: info logger (default absl's).
    warn_fn: warning logger (default absl's).

  Returns:
    The logged line.
  """
  log_fn = log_fn or logging.info
  warn_fn = warn_fn or logging.warning
  total = ('%.1f real epochs' % s.real_total_epochs
           if s.real_total_epochs is not None else 'no --max_number_of_steps')
  parts = ['global batch %d, %.1f steps per real epoch' %
           (s.global_batch, s.real_steps_per_epoch)]
  if s.warmup_steps:
    parts.append('warm-up %.3g real epochs (%d steps)' %
                 (s.real_warmup_epochs, s.warmup_steps))
  if decay_type == 'exponential':
    parts.append('decay every %.3g real epochs (%d steps)' %
                 (s.real_epochs_per_decay, s.decay_steps))
  elif decay_type == 'polynomial':
    parts.append('polynomial decay over %.3g real epochs (%d steps)' %
                 (s.real_epochs_per_decay, s.decay_steps))
  parts.append(total)
  line = 'Learning-rate schedule: ' + ', '.join(parts)
  log_fn(line)
  ratio = s.slim_steps_per_epoch / s.real_steps_per_epoch  # = num_clones
  if abs(ratio - 1) > 1e-9 and (decay_type != 'fixed' or s.warmup_steps):
    warn_fn('As in Slim, --num_epochs_per_decay=%g and --warmup_epochs=%g '
            'count epochs of ONE clone\'s batch; with a global batch of %d '
            'they are %.3g and %.3g real epochs (divide them by %g for real '
            'epochs)' % (num_epochs_per_decay, warmup_epochs, s.global_batch,
                         s.real_epochs_per_decay, s.real_warmup_epochs,
                         ratio))
  return line
