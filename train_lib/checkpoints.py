"""Finding, checking and cleaning up the checkpoints of a training directory.

A checkpoint is named by its prefix (`<dir>/model.ckpt-N`, the files being
`<prefix>.index` and `<prefix>.data-*`). What users type is accepted too:
`checkpoint_prefix` turns a `.index`, `.meta` or `.data-NNNNN-of-NNNNN` path
into its prefix.

Resuming never trusts the `checkpoint` state file alone: `restorable(train_dir)`
returns the newest checkpoint whose every tensor reads back, saying which
ones it skipped and why, so a missing or truncated latest checkpoint, or a
garbage state file, falls back to an older checkpoint instead of ending in a
traceback or silently restarting from step 0.

Typical use:

    from train_lib import checkpoints

    checkpoints.remove_stale_temp_dirs(train_dir)
    prefix = checkpoints.restorable(train_dir)        # None: start afresh
    checkpoints.check_variables(variables, prefix, 'resume')
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import glob
import os
import re
import shutil

from absl import logging
import tensorflow.compat.v1 as tf

from train_lib import errors

_SUFFIX_RE = re.compile(r'\.(index|meta|data-\d{5}-of-\d{5})$')
# tf.train.Saver(sharded=True) writes `<prefix>_temp_<uuid4 hex>/part-*` and
# merges the parts into place; a kill during a save leaves the directory.
_TEMP_DIR_RE = re.compile(r'_temp_[0-9a-f]{32}$')


def checkpoint_prefix(path):
  """Returns the checkpoint prefix of `path` (`.index`/`.data-*` stripped)."""
  if path and not tf.gfile.IsDirectory(path):
    return _SUFFIX_RE.sub('', path)
  return path


def step_of(prefix):
  """The N of '...-N', else -1."""
  suffix = prefix.rsplit('-', 1)[-1]
  return int(suffix) if suffix.isdigit() else -1


def why_unreadable(prefix):
  """Returns None if every tensor of `prefix` reads back, else the reason."""
  if not tf.gfile.Exists(prefix + '.index'):
    return '%s.index is missing' % prefix
  try:
    reader = tf.train.NewCheckpointReader(prefix)
    for name in sorted(reader.get_variable_to_shape_map()):
      reader.get_tensor(name)
  except (tf.errors.OpError, ValueError, OSError, IndexError) as e:
    # TF 1.15 reports a truncated .data file as DataLossError (an OpError),
    # TF 2's reader as IndexError('Read less bytes than requested').
    return first_line(e)
  return None


def first_line(error):
  """The first non-empty line of an exception's message."""
  text = getattr(error, 'message', None) or str(error)
  for line in text.splitlines():
    if line.strip():
      return line.strip()
  return type(error).__name__


def _candidates(train_dir):
  """Checkpoint prefixes of `train_dir`, newest first, and a state warning."""
  found = []
  warning = None
  try:
    state = tf.train.get_checkpoint_state(train_dir)
  except (tf.errors.OpError, ValueError) as e:  # Garbage state file.
    state = None
    warning = 'the checkpoint state file is unreadable (%s)' % first_line(e)
  if state is not None:
    for path in list(state.all_model_checkpoint_paths) + [
        state.model_checkpoint_path]:
      if path and not os.path.isabs(path):
        path = os.path.join(train_dir, path)
      if path:
        found.append(path)
  # Checkpoints the state file does not list (or a lost state file).
  for index in glob.glob(os.path.join(train_dir, '*.index')):
    found.append(index[:-len('.index')])
  unique = sorted(set(found), key=lambda p: (step_of(p), p), reverse=True)
  latest = state.model_checkpoint_path if state is not None else None
  if latest and not os.path.isabs(latest):
    latest = os.path.join(train_dir, latest)
  return unique, latest, warning


def restorable(train_dir):
  """Returns the newest fully readable checkpoint of `train_dir`, or None.

  Logs a warning naming each newer checkpoint that was skipped and why.

  Raises:
    errors.UserError: checkpoints exist but none can be read (training does
      not restart from step 0 beside them).
  """
  if not tf.gfile.IsDirectory(train_dir):
    return None
  candidates, latest, warning = _candidates(train_dir)
  if warning:
    logging.warning('%s: %s; looking for checkpoint files instead', train_dir,
                    warning)
  skipped = []
  for prefix in candidates:
    reason = why_unreadable(prefix)
    if reason is None:
      if skipped or (latest and latest != prefix):
        logging.warning(
            'Resuming from %s, the newest readable checkpoint; skipped: %s',
            prefix, '; '.join('%s (%s)' % s for s in skipped) or
            '%s named by the state file' % latest)
      return prefix
    skipped.append((prefix, reason))
  if skipped:
    raise errors.UserError(
        'No checkpoint of %s can be read: %s. Move them away to start '
        'afresh, or point --train_dir elsewhere' %
        (train_dir, '; '.join('%s (%s)' % s for s in skipped)))
  return None


def remove_stale_temp_dirs(train_dir):
  """Deletes temporary save directories a killed save left; returns them.

  Call only while holding the train_dir lock: then no save is in progress.
  """
  removed = []
  for path in glob.glob(os.path.join(train_dir, '*_temp_*')):
    if os.path.isdir(path) and _TEMP_DIR_RE.search(os.path.basename(path)):
      shutil.rmtree(path, ignore_errors=True)
      removed.append(path)
  if removed:
    logging.info('Removed %d temporary checkpoint director%s a killed save '
                 'left: %s', len(removed), 'y' if len(removed) == 1 else 'ies',
                 ', '.join(sorted(removed)))
  return sorted(removed)


def check_variables(variables, prefix, what, hint=''):
  """Raises UserError unless `prefix` has every variable with its shape.

  Args:
    variables: dict checkpoint name -> tf.Variable (or a list of variables,
      named by their op names).
    prefix: a checkpoint prefix.
    what: what the check is for, e.g. 'resume', for the message.
    hint: appended to the message, e.g. which flags to check.

  Raises:
    errors.UserError: naming the first missing or mis-shaped variable.
  """
  if not isinstance(variables, dict):
    variables = {v.op.name: v for v in variables}
  try:
    shapes = tf.train.NewCheckpointReader(prefix).get_variable_to_shape_map()
  except tf.errors.OpError as e:
    raise errors.UserError('Cannot %s from checkpoint %s: %s' %
                           (what, prefix, first_line(e)))
  missing = sorted(name for name in variables if name not in shapes)
  if missing:
    raise errors.UserError(
        'Cannot %s from checkpoint %s: it lacks %d of the model\'s %d '
        'variables, first %s%s' % (what, prefix, len(missing), len(variables),
                                   missing[0], hint))
  for name, var in sorted(variables.items()):
    want = var.get_shape().as_list()
    if list(shapes[name]) != want:
      raise errors.UserError(
          'Cannot %s from checkpoint %s: variable %s has shape %s there but '
          '%s in the model%s' % (what, prefix, name, list(shapes[name]), want,
                                 hint))
