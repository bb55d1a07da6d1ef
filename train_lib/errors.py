"""Exceptions the command-line scripts report as a one-line error.

`exit_on_user_error` is every script's boundary: a `UserError`, a failed
input-data check of the pipeline, and the file-system and checkpoint errors
a user can cause (missing, unreadable, truncated or unwritable files) become
one line on stderr and exit status 1. Anything else is a bug and keeps its
traceback.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import logging
import os
import sys


class UserError(ValueError):
  """A problem the user can fix: a bad flag value, a missing file, ...

  The scripts print the message on one line and exit with status 1, without
  a traceback.
  """


class TrainingDivergedError(UserError):
  """The loss or a variable became NaN or Inf; nothing non-finite was saved."""


def _first_line(text):
  for line in str(text).splitlines():
    if line.strip():
      return line.strip()
  return str(text).strip()


def user_message(error):
  """The one-line message of an error the user can fix, or None for a bug.

  Args:
    error: an exception.

  Returns:
    The message for `UserError`s, the pipeline's data checks (an unfinished
    conversion, bad records), OSErrors
    (naming the file) and TensorFlow's not-found / permission / data-loss /
    failed-precondition errors (file problems); None otherwise.
  """
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  from datasets import input_pipeline  # pylint: disable=g-import-not-at-top
  if isinstance(error, (UserError, input_pipeline.IncompleteSplitError)):
    return ' '.join(str(error).split('\n'))
  if isinstance(error, tf.errors.OpError):
    data = input_pipeline.data_error_message(error)
    if data:
      return data
    if isinstance(error, (tf.errors.NotFoundError,
                          tf.errors.PermissionDeniedError,
                          tf.errors.DataLossError,
                          tf.errors.FailedPreconditionError)):
      return _first_line(error.message)
    return None
  if isinstance(error, EnvironmentError):  # OSError, IOError.
    if error.filename:
      return '%s: %s' % (error.filename, error.strerror or error)
    return _first_line(error)
  return None


def exit_on_user_error(fn, prog):
  """Runs `fn()`; on an error the user can fix prints one line and exits 1.

  See `user_message` for which errors; any other exception propagates with
  its traceback.

  Args:
    fn: callable without arguments.
    prog: program name for the message prefix.

  Returns:
    What `fn()` returns.
  """
  try:
    return fn()
  except Exception as e:  # pylint: disable=broad-except
    message = user_message(e)
    if message is None:
      raise
    sys.stderr.write('%s: error: %s\n' % (prog, message))
    sys.stderr.flush()
    sys.exit(1)


def exit_at_once(status):
  """Ends a script that failed with `status` without the interpreter's teardown.

  Called by the scripts' boundary (`flag_groups.run_script`) once a bad flag
  or a user error has been reported and everything above has unwound (a
  checkpoint being written was finished or removed, the session closed).
  What is left is the interpreter's teardown, which on TF 2 takes about 1.5 s
  (0.6 s on TF 1.15) of a mistyped flag's 7 s: what was printed or logged is
  flushed, then the process ends. Under Horovod the normal exit stays, so
  that its shutdown tells the other ranks.

  Args:
    status: the exit status (non-zero).
  """
  if 'horovod' in sys.modules:
    sys.exit(status)
  logging.shutdown()  # flushes every handler, absl's too
  for stream in (sys.stdout, sys.stderr):
    try:
      stream.flush()
    except (OSError, ValueError):  # closed or broken pipe: nothing to keep
      pass
  os._exit(status)  # pylint: disable=protected-access
