"""One trainer per training directory: an advisory lock on `train_dir/.lock`.

Two trainers writing one `--train_dir` interleave checkpoints and overwrite
each other's `flags.txt`; the second one refuses to start instead, naming
the first's pid. The lock is `fcntl.flock` on an open file, which the kernel
drops when its process ends however it ends, so the lock of a killed
trainer (even `kill -9`) never blocks the next start; the pid written into
the file is only for the message.

Typical use:

    lock = locking.TrainDirLock(train_dir)    # raises UserError if held
    try:
      ...train...
    finally:
      lock.release()
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import fcntl
import os

from train_lib import errors

LOCK_FILENAME = '.lock'


class TrainDirLock(object):
  """Holds the exclusive lock of a training directory until `release()`."""

  def __init__(self, train_dir):
    """Takes the lock.

    Raises:
      errors.UserError: another live process holds it (its pid is named).
    """
    self.path = os.path.join(train_dir, LOCK_FILENAME)
    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
      holder = os.read(fd, 64).decode('ascii', 'replace').strip() or '?'
      os.close(fd)
      raise errors.UserError(
          'Another trainer (pid %s) is using --train_dir=%s; wait for it to '
          'finish, stop it, or choose another --train_dir' %
          (holder, train_dir))
    os.ftruncate(fd, 0)
    os.write(fd, ('%d\n' % os.getpid()).encode('ascii'))
    self._fd = fd

  def release(self):
    if self._fd is not None:
      fcntl.flock(self._fd, fcntl.LOCK_UN)
      os.close(self._fd)
      self._fd = None

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.release()
    return False
