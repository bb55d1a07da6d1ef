"""Checkpoints cross runtimes: TF 1.15 writes, TF 2 reads, and the reverse.

Each direction saves a seeded SE-ResNet-50 checkpoint with one runtime and
restores it with the other, on the same input; the logits must agree to 1e-4
of their scale (the kernels' float32 rounding), and every restored variable
must equal the saved one exactly. This runtime's halves run in the test's own
process; the other runtime's halves run in one subprocess of the sibling venv
of this checkout (`.venv` for TF 1.15, `.venv-tf2` for TF 2; `make venv` and
`make venv TF=2` build them, as `.ci/run` does before testing), which
restores this runtime's checkpoint and then saves its own. Where that venv is
missing the tests are skipped, saying which venv to build.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
import os
import subprocess

import numpy as np
import pytest

import tf_compat
from tests import cross_runtime_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OTHER_VENV = '.venv' if tf_compat.IS_TF2 else '.venv-tf2'
OTHER_PYTHON = os.path.join(ROOT, OTHER_VENV, 'bin', 'python')


def _run_other(*verbs_and_dirs):
  proc = subprocess.run(
      [OTHER_PYTHON, '-m', 'tests.cross_runtime_model'] +
      list(verbs_and_dirs), cwd=ROOT,
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
  assert proc.returncode == 0, proc.stdout.decode('utf-8', 'replace')[-3000:]


@pytest.mark.skipif(
    not os.path.exists(OTHER_PYTHON),
    reason='the other runtime\'s venv %s is not built (make venv%s)' %
    (OTHER_VENV, ' TF=2' if OTHER_VENV == '.venv-tf2' else ''))
@pytest.mark.long
def test_se_checkpoints_give_same_logits_on_the_other_runtime(tmp_path):
  # Three steps, one subprocess: this runtime saves; the other restores that
  # checkpoint, then saves its own; this runtime restores the other's.
  dirs = collections.OrderedDict(
      (d, str(tmp_path / d)) for d in ('this_to_other', 'other_to_this'))
  for path in dirs.values():
    os.makedirs(path)
  cross_runtime_model.save(dirs['this_to_other'])
  _run_other('logits', dirs['this_to_other'], 'save', dirs['other_to_this'])
  cross_runtime_model.logits(dirs['other_to_this'])
  for direction, out in dirs.items():
    _check_direction(direction, out)


def _check_direction(direction, out):
  """The checks of one direction: `out` holds what writer and reader wrote."""
  writer, reader = (
      [cross_runtime_model.runtime_of(out, half) for half in ('saved',
                                                               'restored')])
  this = cross_runtime_model.runtime()
  assert (writer == this) == (direction == 'this_to_other'), (writer, this)
  assert writer != reader, (direction, writer, reader)
  saved = np.load(os.path.join(out, 'logits_saved.npy'))
  restored = np.load(os.path.join(out, 'logits_restored.npy'))
  assert saved.shape == (2, 7)
  assert np.abs(saved).max() > 1e-2  # the comparison is not of zeros
  assert np.abs(saved[0] - saved[1]).max() > 1e-4  # and depends on the input
  # The checkpoint carries every value bit for bit ...
  values_saved = np.load(os.path.join(out, 'values_saved.npz'))
  values_restored = np.load(os.path.join(out, 'values_restored.npz'))
  assert sorted(values_saved.files) == sorted(values_restored.files)
  assert len(values_saved.files) > 300
  for name in values_saved.files:
    np.testing.assert_array_equal(values_restored[name], values_saved[name],
                                  err_msg='%s: %s' % (direction, name))
  # ... and the two runtimes compute the same function from them. TF 2's CPU
  # kernels (oneDNN) sum in another order than TF 1.15's (Eigen); over 50
  # layers float32 rounding then differs by up to a few 1e-5 of the logits'
  # scale (seen: 0.0035 with logits near 110, 3.2e-5 of the scale), hence a
  # bound relative to that scale, with a margin of 3.
  scale = np.abs(saved).max()
  assert np.abs(restored - saved).max() <= 1e-4 * scale, (
      direction, np.abs(restored - saved).max(), scale)
