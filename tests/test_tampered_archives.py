"""Tampered archives: nothing outside --dataset_dir is created or changed.

Each archive is built here and served on 127.0.0.1 as the flowers (or
cifar10) mirror; the real `download_and_convert_data.py` must refuse it with
one line naming the member, leave every file above `dataset_dir` as it was,
and remove the partial extraction.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os
import tarfile

import pytest

from datasets import cifar10
from datasets import flowers
from tests import dataset_testutil as dtu
from tests import test_train_util as util

VICTIM = b'original contents\n'


def _link(name, target, hard=False):
  info = tarfile.TarInfo(name)
  info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
  info.linkname = target
  return info


def _shapes(root):
  """name -> (members, the member the refusal must name)."""
  victim = os.path.join(root, 'victim.txt')
  return {
      # The chain of the report: a symlink to '..', a second symlink through
      # it that reads as inside, a hard link through that, then a file
      # written through the hard link's name.
      'chain': ([('d', None), _link('d/up', '..'),
                 _link('dot', 'd/up/d/up'),
                 _link('h', 'dot/../victim.txt', hard=True),
                 ('h', b'overwritten\n')], 'd/up'),
      'symlink_relative_dotdot': ([_link('x', '../../victim.txt'),
                                   ('x', b'overwritten\n')], 'x'),
      'symlink_absolute': ([_link('x', victim), ('x', b'overwritten\n')],
                           'x'),
      'symlink_dir_absolute': ([_link('x', root),
                                ('x/victim.txt', b'overwritten\n')], 'x'),
      'hardlink_absolute': ([_link('x', victim, hard=True),
                             ('x', b'overwritten\n')], 'x'),
      'hardlink_relative': ([_link('x', '../../victim.txt', hard=True),
                             ('x', b'overwritten\n')], 'x'),
      'symlink_inside_then_file': ([('d', None), _link('d/self', '.'),
                                    ('d/self/f', b'x')], 'd/self'),
      'fifo': ([tarfile.TarInfo('p')], 'p'),
      'dotdot_name': ([('../../victim.txt', b'overwritten\n')],
                      '../../victim.txt'),
  }


def _snapshot(root, skip):
  out = {}
  for dirpath, dirnames, filenames in os.walk(root):
    if os.path.abspath(dirpath).startswith(skip):
      continue
    for name in dirnames + filenames:
      path = os.path.join(dirpath, name)
      if path.startswith(skip):
        continue
      data = None if os.path.isdir(path) else open(path, 'rb').read()
      out[os.path.relpath(path, root)] = data
  return out


@pytest.mark.parametrize('shape', sorted(_shapes('/r')))
def test_tampered_flowers_archive_is_refused(tmp_path, shape):
  root = str(tmp_path)
  with open(os.path.join(root, 'victim.txt'), 'wb') as f:
    f.write(VICTIM)
  members, named = _shapes(root)[shape]
  if shape == 'fifo':
    members[0].type = tarfile.FIFOTYPE
  dataset_dir = os.path.join(root, 'ds')
  before = _snapshot(root, dataset_dir)
  with dtu.LocalHTTPServer({flowers.ARCHIVE: dtu.tar_bytes(members)}) as srv:
    proc = util.run_script('download_and_convert_data.py', [
        '--dataset_name=flowers', '--dataset_dir=%s' % dataset_dir,
        '--mirror=%s' % srv.url], timeout=120)
  assert proc.returncode != 0
  lines = proc.stderr.strip().splitlines()
  # Progress and log lines may come first; the error is one, last line.
  assert [l for l in lines if 'error:' in l] == lines[-1:], proc.stderr
  assert 'Traceback' not in proc.stderr
  assert 'Refusing archive member %r' % named in lines[-1]
  assert _snapshot(root, dataset_dir) == before
  assert open(os.path.join(root, 'victim.txt'), 'rb').read() == VICTIM
  # Only the (reusable) download remains: no partial extraction, no records.
  assert sorted(os.listdir(dataset_dir)) == [flowers.ARCHIVE]


def test_tampered_cifar10_archive_is_refused(tmp_path):
  root = str(tmp_path)
  with open(os.path.join(root, 'victim.txt'), 'wb') as f:
    f.write(VICTIM)
  members, named = _shapes(root)['chain']
  dataset_dir = os.path.join(root, 'ds')
  with dtu.LocalHTTPServer({cifar10.ARCHIVE: dtu.tar_bytes(members)}) as srv:
    proc = util.run_script('download_and_convert_data.py', [
        '--dataset_name=cifar10', '--dataset_dir=%s' % dataset_dir,
        '--mirror=%s' % srv.url], timeout=120)
  assert proc.returncode != 0
  assert 'Refusing archive member %r' % named in proc.stderr
  assert open(os.path.join(root, 'victim.txt'), 'rb').read() == VICTIM
  assert sorted(os.listdir(root)) == ['ds', 'victim.txt']
  assert sorted(os.listdir(dataset_dir)) == [cifar10.ARCHIVE]
