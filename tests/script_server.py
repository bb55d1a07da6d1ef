"""Runs the repository's scripts in forked processes, for the tests.

Starting a script costs its imports: about 3 s on TF 1.15 and 6 s on TF 2
(`import tensorflow`), more than most of the bad-input cases take once
running, and the suite starts a script a few hundred times. This server
imports what the scripts import once, then forks a child per request: the
child is a new process that runs the script as `python <script> <args>`
would (`runpy` as `__main__`, `sys.argv`, `sys.path[0]`, working directory,
its own stdin/stdout/stderr), exits the way the interpreter does (an
uncaught exception prints its traceback and exits 1; `SystemExit` gives its
code; threads and `atexit` handlers run), and is killed with its process
group after the request's timeout.

What a child does not repeat is the import itself, so anything the imports
print or decide from the environment happened here, once. Tests of that
(start-up noise on stderr, variables read at import) run the script in a
fresh interpreter instead (`tests/test_train_util.run_script(fresh=True)`),
and so does every request with its own environment.

Protocol: one JSON request per line on stdin
(`{"script", "args", "cwd", "stdout", "stderr", "timeout"}`, the two output
fields being file paths); one JSON reply per line on stdout
(`{"returncode", "timed_out"}`). End of input ends the server.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import json
import os
import runpy
import signal
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _preload():
  """Imports what every script imports (TensorFlow through tf_compat first)."""
  sys.path.insert(0, REPO)
  # pylint: disable=g-import-not-at-top,unused-import,unused-variable
  import tf_compat
  import tf_slim
  from nets import nets_factory
  from datasets import dataset_factory
  from preprocessing import preprocessing_factory
  from train_lib import evaluation
  from train_lib import export
  from train_lib import flag_groups
  from train_lib import training
  # pylint: enable=g-import-not-at-top,unused-import,unused-variable
  sys.path.remove(REPO)


def _wait(pid, timeout):
  """Waits for child `pid`; returns (returncode, timed_out)."""
  deadline = time.time() + timeout
  delay = 0.005
  while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
      break
    if time.time() > deadline:
      try:
        os.killpg(pid, signal.SIGKILL)
      except OSError:
        pass
      os.waitpid(pid, 0)
      return -signal.SIGKILL, True
    time.sleep(delay)
    delay = min(delay * 2, 0.05)
  if os.WIFSIGNALED(status):
    return -os.WTERMSIG(status), False
  return os.WEXITSTATUS(status), False


def _serve(requests, replies):
  """Forks a child per request; returns the request in the child, else None."""
  for line in requests:
    request = json.loads(line)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
      requests.close()
      replies.close()
      return request
    returncode, timed_out = _wait(pid, request['timeout'])
    replies.write(json.dumps({'returncode': returncode,
                              'timed_out': timed_out}) + '\n')
    replies.flush()
  return None


def _become(request):
  """Turns this forked child into `python <script> <args>`; runs it."""
  os.setpgid(0, 0)  # The timeout kills the script and whatever it started.
  for fd, path, flags in ((0, os.devnull, os.O_RDONLY),
                          (1, request['stdout'], os.O_WRONLY | os.O_CREAT),
                          (2, request['stderr'], os.O_WRONLY | os.O_CREAT)):
    new = os.open(path, flags, 0o644)
    os.dup2(new, fd)
    os.close(new)
  os.chdir(request['cwd'])
  script = os.path.join(REPO, request['script'])
  sys.argv = [script] + request['args']
  sys.path[0] = os.path.dirname(script)
  runpy.run_path(script, run_name='__main__')


def main():
  # The protocol gets its own descriptors; fd 1 then goes to stderr so that
  # nothing printed here (or by an import) can corrupt a reply.
  requests = os.fdopen(os.dup(0), 'r')
  replies = os.fdopen(os.dup(1), 'w')
  os.dup2(2, 1)
  _preload()
  replies.write('ready\n')
  replies.flush()
  request = _serve(requests, replies)
  if request is not None:
    _become(request)


if __name__ == '__main__':
  main()
