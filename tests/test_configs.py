"""Every recipe in configs/ does what its comment says.

Each `configs/*.flags` states its schedule on a line

    # Schedule (real epochs of the global batch of B): warm-up W, decay xF every D, T in all.

(parts optional; 'fixed', 'polynomial over P'). The test reads the flags as
absl would (nested --flagfile included), computes the schedule with Slim's
meaning of the flags (`train_lib.schedule`) on the dataset's real size, and
checks every number of that line.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import glob
import os
import re

import pytest

from datasets import dataset_factory
from train_lib import schedule
from train_lib import training

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(glob.glob(os.path.join(REPO, 'configs', '*.flags')))
_LINE = re.compile(r'^# Schedule \(real epochs of the global batch of '
                   r'(\d+)\): (.*)\.$', re.M)


def _read_flags(path):
  values = {}
  for line in open(path):
    line = line.strip()
    if not line.startswith('--'):
      continue
    name, _, value = line[2:].partition('=')
    if name == 'flagfile':
      values.update(_read_flags(os.path.join(REPO, value)))
    else:
      values[name] = value
  return values


def _claims(path):
  match = _LINE.search(open(path).read())
  assert match, '%s has no "# Schedule (...)" line' % path
  claims = {'global_batch': int(match.group(1))}
  for part in match.group(2).split(', '):
    for key, pattern in (('warmup', r'warm-up ([\d.]+)$'),
                         ('decay', r'decay x([\d.]+) every ([\d.]+)$'),
                         ('polynomial', r'polynomial over ([\d.]+)$'),
                         ('total', r'([\d.]+) in all$'),
                         ('fixed', r'(fixed)$')):
      found = re.match(pattern, part)
      if found:
        claims[key] = found.groups()
        break
    else:
      raise AssertionError('%s: cannot read %r' % (path, part))
  return claims


def _close(claimed, actual, path, what):
  # The comments round to 0.1 epoch.
  assert abs(float(claimed) - actual) <= 0.051 + 1e-3 * actual, (
      '%s claims %s %s but the flags give %.3f' % (path, what, claimed,
                                                   actual))


@pytest.mark.parametrize('path', CONFIGS, ids=os.path.basename)
def test_recipe_schedule_matches_its_comment(path):
  flags = _read_flags(path)
  claims = _claims(path)
  defaults = training.TrainConfig()
  get = lambda name, kind: kind(flags.get(name, getattr(defaults, name)))
  name = get('dataset_name', str)
  sizes = dataset_factory.datasets_map[name].SPLITS_TO_SIZES
  if sizes is None:
    # The user's own images (image_folder): epochs depend on how many there
    # are, so such a recipe can only claim its batch and a fixed rate.
    assert get('batch_size', int) * get('num_clones', int) == (
        claims['global_batch']), path
    assert get('learning_rate_decay_type', str) == 'fixed', path
    assert 'fixed' in claims and 'total' not in claims, path
    return
  num_samples = sizes[get('dataset_split_name', str)]
  max_steps = flags.get('max_number_of_steps')
  s = schedule.describe(
      num_samples, get('batch_size', int), get('num_clones', int),
      get('num_epochs_per_decay', float), get('warmup_epochs', float),
      int(max_steps) if max_steps else None)
  decay_type = get('learning_rate_decay_type', str)
  assert s.global_batch == claims['global_batch'], path
  if 'warmup' in claims:
    _close(claims['warmup'][0], s.real_warmup_epochs, path, 'warm-up')
  else:
    assert not s.warmup_steps, '%s warms up but does not say so' % path
  if decay_type == 'exponential':
    factor, every = claims['decay']
    assert float(factor) == get('learning_rate_decay_factor', float), path
    _close(every, s.real_epochs_per_decay, path, 'decay every')
  elif decay_type == 'polynomial':
    _close(claims['polynomial'][0], s.real_epochs_per_decay, path,
           'polynomial over')
  else:
    assert decay_type == 'fixed' and 'fixed' in claims, path
  if 'total' in claims:
    _close(claims['total'][0], s.real_total_epochs, path, 'in all')
  else:
    assert s.real_total_epochs is None, path
  # A decay the run never reaches means the recipe is wrong.
  if decay_type == 'exponential' and max_steps:
    assert s.decay_steps < int(max_steps), path


def test_slim_meaning_is_kept_and_the_log_says_so():
  """8 clones: Slim's epochs are one clone's; the log warns with real ones."""
  s = schedule.describe(1281167, batch_size=128, num_clones=8,
                        num_epochs_per_decay=30, warmup_epochs=5,
                        max_number_of_steps=125000)
  assert s.decay_steps == int(1281167 / 128 * 30)  # Slim's formula.
  assert abs(s.real_epochs_per_decay - 240) < 0.01
  infos, warnings = [], []
  line = schedule.log(s, 'exponential', 30, 5, infos.append, warnings.append)
  assert 'global batch 1024' in line and 'decay every 240 real epochs' in line
  assert len(warnings) == 1 and 'divide them by 8' in warnings[0]
  one = schedule.describe(1438, 32, num_epochs_per_decay=2)
  schedule.log(one, 'exponential', 2, 0, infos.append, warnings.append)
  assert len(warnings) == 1  # One clone: Slim's epochs are real epochs.
