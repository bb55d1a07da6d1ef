"""Long conversions show progress and a rerun keeps the finished shards.

A kill mid-conversion leaves some complete shards (written atomically), maybe
a temporary, and no metadata.json. The rerun must keep exactly the shards
whose record count matches the plan, redo the rest (missing or truncated),
say how many it kept, and end with the same records as an uninterrupted run.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import glob
import os
import re

from datasets import dataset_utils
from datasets import imagenet
from tests.test_converters_imagenet import tree  # pylint: disable=unused-import


def _shards(out):
  """name -> its records as tf.train.Examples (map order is not stable)."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  return {os.path.basename(p): [tf.train.Example.FromString(r) for r in
                                tf.io.tf_record_iterator(p)]
          for p in sorted(glob.glob(os.path.join(out, '*-of-*')))}


def test_rerun_after_a_kill_keeps_complete_shards(tree, tmp_path, monkeypatch):  # pylint: disable=redefined-outer-name
  src = tree[0]
  out = str(tmp_path / 'records')
  sizes = imagenet.run(out, src, train_shards=3, validation_shards=3,
                       num_workers=1)
  first = _shards(out)
  assert len(first) == 6
  # Plan: 6 train images over 3 shards, 3 validation images over 3.
  plan = {name: 2 if name.startswith('train') else 1 for name in first}
  counts = {name: dataset_utils.count_records(os.path.join(out, name))
            for name in first}
  assert sum(counts.values()) == sum(sizes.values())
  # "Kill": the marker gone, one shard never written, one cut short, a
  # temporary left behind.
  os.remove(os.path.join(out, 'metadata.json'))
  os.remove(os.path.join(out, 'labels.txt'))
  os.remove(os.path.join(out, 'train-00001-of-00003'))
  cut = os.path.join(out, 'validation-00000-of-00003')
  data = open(cut, 'rb').read()
  open(cut, 'wb').write(data[:len(data) // 2])  # Inside its only record.
  assert dataset_utils.count_records(cut) is None
  open(dataset_utils.tmp_path_for(os.path.join(
      out, 'validation-00002-of-00003')), 'wb').write(b'partial')
  redone = {'train-00001-of-00003', 'validation-00000-of-00003'}
  # A shard missing an undecodable image is below plan: redone, not trusted.
  expect_kept = sum(1 for name in first if name not in redone and
                    counts[name] == plan[name])
  assert 0 < expect_kept < 6
  lines = []
  monkeypatch.setattr(imagenet.logging, 'info',
                      lambda fmt, *args: lines.append(fmt % args))
  monkeypatch.setattr(dataset_utils.logging, 'info',
                      lambda fmt, *args: lines.append(fmt % args))
  assert imagenet.run(out, src, train_shards=3, validation_shards=3,
                      num_workers=1) == sizes
  assert 'Keeping %d of 6 shards already complete in %s; converting the ' \
         'other %d' % (expect_kept, out, 6 - expect_kept) in lines
  assert _shards(out) == first  # Same records as the uninterrupted run.
  final = [l for l in lines if l.startswith('Converting ImageNet: ')][-1]
  assert final.startswith('Converting ImageNet: 6/6 shards, %d/%d images '
                          'done' % (sum(plan.values()), sum(plan.values())))
  assert dataset_utils.read_metadata(out)['splits'] == sizes


def test_progress_lines_at_least_every_interval():
  now = [0.0]
  lines = []
  progress = dataset_utils.Progress('Converting X', 10, 1000, every_secs=30,
                                    clock=lambda: now[0], log_fn=lines.append)
  progress.start_from(2, 200)  # Kept from an earlier run.
  now[0] = 10.0
  progress.add(1, 100)
  assert lines == []  # Not yet 30 s.
  now[0] = 40.0
  progress.add(1, 100)
  # 200 new images in 40 s: 5/s; 600 left: 120 s.
  assert lines == ['Converting X: 4/10 shards, 400/1000 images done, 5.0 '
                   'images/s, time left 120 s']
  now[0] = 50.0
  progress.maybe_log(force=True)  # The timeout path: no shard finished.
  assert len(lines) == 2 and lines[1].startswith('Converting X: 4/10 shards')


def test_image_folder_rerun_keeps_complete_shards(tmp_path, monkeypatch):
  """The same for image_folder: kept shards checked against the plan."""
  from datasets import image_folder  # pylint: disable=g-import-not-at-top
  from tests import test_converters  # pylint: disable=g-import-not-at-top
  src = str(tmp_path / 'src')
  test_converters._image_tree(src)  # pylint: disable=protected-access
  monkeypatch.setattr(image_folder, '_IMAGES_PER_SHARD', 2)
  out = str(tmp_path / 'records')
  sizes = image_folder.run(out, source_dir=src, validation_fraction=0.25)
  first = _shards(out)
  # 9 images (one undecodable): per class 1 of 4 held out (rounded), so 6
  # in train over 3 shards and 3 in validation over 2, 2 per shard at most.
  assert sorted(first) == [
      'image_folder_train_%05d-of-00003.tfrecord' % i for i in range(3)] + [
          'image_folder_validation_%05d-of-00002.tfrecord' % i
          for i in range(2)]
  assert sum(len(r) for r in first.values()) == sum(sizes.values())
  # The plan's count per shard, from the same seeded split.
  splits = image_folder.split_images(image_folder.list_images(src)[1], 0.25)
  plan = {}
  for name in first:
    split, shard, num = re.match(r'image_folder_(\w+)_(\d+)-of-(\d+)',
                                 name).groups()
    n, i, total = int(num), int(shard), len(splits[split])
    plan[name] = total * (i + 1) // n - total * i // n
  short = [n for n in first if len(first[n]) < plan[n]]  # garbage.jpg's
  assert len(short) == 1
  os.remove(os.path.join(out, 'metadata.json'))
  os.remove(os.path.join(out, 'image_folder_train_00000-of-00003.tfrecord'))
  removed = {'image_folder_train_00000-of-00003.tfrecord'}
  expect_kept = len(first) - len(removed | set(short))
  mtimes = {n: os.path.getmtime(os.path.join(out, n)) for n in first
            if n not in removed}
  lines = []
  monkeypatch.setattr(image_folder.logging, 'info',
                      lambda fmt, *args: lines.append(fmt % args))
  assert image_folder.run(out, source_dir=src,
                          validation_fraction=0.25) == sizes
  assert 'Keeping %d of 5 shards already complete in %s; converting the ' \
         'other %d' % (expect_kept, out, 5 - expect_kept) in lines
  assert _shards(out) == first  # Same records as the uninterrupted run.
  for name, mtime in mtimes.items():  # kept means not rewritten
    assert (os.path.getmtime(os.path.join(out, name)) == mtime) == (
        name not in short), name
  assert dataset_utils.read_metadata(out)['splits'] == sizes
