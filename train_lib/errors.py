"""Exceptions the command-line scripts report as a one-line error."""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import sys


class UserError(ValueError):
  """A problem the user can fix: a bad flag value, a missing file, ...

  The scripts print the message on one line and exit with status 1, without
  a traceback.
  """


class TrainingDivergedError(UserError):
  """The loss or a variable became NaN or Inf; nothing non-finite was saved."""


def exit_on_user_error(fn, prog):
  """Runs `fn()`; on `UserError` prints one line to stderr and exits 1.

  Args:
    fn: callable without arguments.
    prog: program name for the message prefix.

  Returns:
    What `fn()` returns.
  """
  try:
    return fn()
  except UserError as e:
    sys.stderr.write('%s: error: %s\n' % (prog, ' '.join(str(e).split('\n'))))
    sys.stderr.flush()
    sys.exit(1)
