"""Bad inputs and faults a user meets, through the real scripts.

Each case runs a script as a user would and expects: a non-zero exit within
the timeout (nothing hangs), exactly one `<script>: error: ...` line, last on
stderr, naming the bad value (log lines may come before it), and no
traceback. The data directories are built here from the converted digits
(2 train shards, 10 classes) with a small MobileNet at 32x32.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import glob
import os
import shutil
import struct

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from datasets import dataset_utils
from datasets import image_folder
from tests import dataset_testutil as dtu
from tests import test_train_util as util

# Its tests share module fixtures or cached builds: one worker runs them all
# (make test uses --dist loadgroup).
pytestmark = pytest.mark.xdist_group('test_bad_inputs')

tf.disable_eager_execution()

TRAIN = 'train_image_classifier.py'
EVAL = 'eval_image_classifier.py'
EXPORT = 'export_inference_graph.py'
SAVED_MODEL = 'export_saved_model.py'
MODEL = ['--model_name=%s' % util.SMALL_MODEL]
# Every case must end well within this (the hangs of issue 12 never ended).
TIMEOUT = 150


def train_args(dataset_dir, train_dir, *extra, dataset='digits'):
  return MODEL + ['--dataset_name=%s' % dataset, '--dataset_dir=%s' %
                  dataset_dir, '--train_dir=%s' % train_dir,
                  '--train_image_size=32', '--batch_size=2',
                  '--num_readers=1', '--max_number_of_steps=2',
                  '--log_every_n_steps=1', '--save_interval_secs=100000'] + list(
                      extra)


def eval_args(dataset_dir, checkpoint, *extra, dataset='digits',
              split='validation'):
  return MODEL + ['--dataset_name=%s' % dataset, '--dataset_dir=%s' %
                  dataset_dir, '--checkpoint_path=%s' % checkpoint,
                  '--dataset_split_name=%s' % split, '--eval_image_size=32',
                  '--batch_size=10', '--eval_dir='] + list(extra)


def error_line(script, args, *expected):
  """Runs `script`; asserts one error line containing `expected`; returns it."""
  proc = util.run_script(script, args, timeout=TIMEOUT)
  assert proc.returncode != 0, proc.stderr[-3000:]
  assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
  lines = proc.stderr.strip().splitlines()
  prefix = '%s: error: ' % script
  errors_ = [l for l in lines if 'error:' in l]
  assert errors_ == lines[-1:] and lines[-1].startswith(prefix), (
      proc.stderr[-3000:])
  for text in expected:
    assert text in lines[-1], lines[-1]
  return lines[-1]


def run_ok(script, args):
  proc = util.run_script(script, args, timeout=TIMEOUT)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return proc


# ---------------------------------------------------------------------------
# Data directories.
# ---------------------------------------------------------------------------


def _copy_digits(dst):
  shutil.copytree(util.digits_dir(), dst)
  return dst


def _records(path, encoded, labels):
  dtu.write_records(path, [dtu.image_example(e, l) for e, l in
                           zip(encoded, labels)])


def _image_folder(root, labels, num_classes=5):
  """An image_folder dataset: one train shard with these labels."""
  os.makedirs(root)
  images = dtu.random_images(len(labels), 8, 8, seed=1)
  path = os.path.join(root, 'image_folder_train_00000-of-00001.tfrecord')
  _records(path, [dtu.encode_png(i) for i in images], labels)
  classes = ['c%d' % i for i in range(num_classes)]
  dataset_utils.write_label_file(dict(enumerate(classes)), root)
  dataset_utils.write_metadata(root, image_folder.NAME,
                               {'train': len(labels)}, classes,
                               image_folder.FILE_PATTERN)
  return root, path


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  """name -> directory of each bad dataset (built once)."""
  root = tmp_path_factory.mktemp('bad_data')
  out = {}
  train_files = lambda d: sorted(glob.glob(os.path.join(d, 'digits_train_*')))

  # Every record undecodable (PNG bytes cut short), labels fine.
  d = out['undecodable'] = _copy_digits(str(root / 'undecodable'))
  for path in train_files(d):
    _records(path, [b'\x89PNG\r\n\x1a\n' + b'\0' * 20] * 4, [1, 2, 3, 4])
  # Shards with zero records (what a failed conversion leaves).
  d = out['empty'] = _copy_digits(str(root / 'empty'))
  for path in train_files(d):
    _records(path, [], [])
  # A record file cut in the middle of a record. (Small shards: training
  # reports a read error when the file's end is drawn from the shuffle.)
  d = out['truncated'] = _copy_digits(str(root / 'truncated'))
  images = dtu.random_images(12, 8, 8, seed=2)
  for path in train_files(d):
    # Labels within digits' 10 classes: only the cut is wrong.
    _records(path, [dtu.encode_png(i) for i in images],
             [i % 10 for i in range(12)])
  data = open(train_files(d)[1], 'rb').read()
  # Cut inside record 3's data (a cut inside a 12-byte header reads as a
  # clean end of file to TFRecordDataset, as in TF itself).
  offset = 0
  for _ in range(3):
    offset += 12 + struct.unpack('<Q', data[offset:offset + 8])[0] + 4
  open(train_files(d)[1], 'wb').write(data[:offset + 12 + 10])
  # Half-converted: the second train shard and the marker never written.
  d = out['half_converted'] = _copy_digits(str(root / 'half'))
  os.remove(train_files(d)[1])
  os.remove(os.path.join(d, 'metadata.json'))
  os.remove(os.path.join(d, 'labels.txt'))
  # All shards there but no completion marker.
  d = out['no_marker'] = _copy_digits(str(root / 'no_marker'))
  os.remove(os.path.join(d, 'metadata.json'))
  os.remove(os.path.join(d, 'labels.txt'))
  # Labels 7 and -1 with 5 classes.
  out['label_7'], out['label_7_file'] = _image_folder(
      str(root / 'label_7'), [0, 1, 7, 2, 3, 4])
  out['label_-1'], out['label_-1_file'] = _image_folder(
      str(root / 'label_m1'), [0, -1, 1, 2, 3, 4])
  # A corrupt labels.txt and metadata.json.
  d = out['bad_labels'] = _copy_digits(str(root / 'bad_labels'))
  open(os.path.join(d, 'labels.txt'), 'w').write('zero\none\n')
  d = out['bad_metadata'] = _copy_digits(str(root / 'bad_metadata'))
  open(os.path.join(d, 'metadata.json'), 'w').write('{"name": "digits", ')
  # A plain file where a directory is expected.
  out['file'] = str(root / 'a_file')
  open(out['file'], 'w').write('x')
  out['root'] = str(root)
  return out


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
  """A train_dir with checkpoints at steps 0 and 2 of the small model."""
  train_dir = str(tmp_path_factory.mktemp('trained'))
  run_ok(TRAIN, train_args(util.digits_dir(), train_dir))
  assert tf.train.latest_checkpoint(train_dir).endswith('model.ckpt-2')
  return train_dir


def _copy_train_dir(src, dst):
  shutil.copytree(src, dst)
  return dst


def _truncate_data(prefix):
  data_file = glob.glob(prefix + '.data-*')[0]
  data = open(data_file, 'rb').read()
  open(data_file, 'wb').write(data[:len(data) // 3])
  return data_file


# ---------------------------------------------------------------------------
# Items 2-4: never hang, never train on wrong data.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize('name,extra,expected', [
    ('undecodable', [], ['Undecodable record', 'digits_train_0000',
                         '--skip_bad_records']),
    ('undecodable', ['--skip_bad_records'], [
        "No record of split 'train' of dataset 'digits'", 'digits_train_0000']),
    ('empty', [], ["No record of split 'train' of dataset 'digits'",
                   'digits_train_00000-of-00002.tfrecord']),
    ('truncated', ['--max_number_of_steps=100'], [
        'Corrupt record data', 'after record 2 of file',
                       'digits_train_00001-of-00002.tfrecord']),
    ('half_converted', [], ['1 of its 2 shards are missing',
                            'digits_train_00001-of-00002.tfrecord',
                            're-run download_and_convert_data.py']),
    ('no_marker', [], ['metadata.json', 'is missing',
                       're-run download_and_convert_data.py']),
])
def test_training_on_bad_data_fails_fast(data, tmp_path, name, extra,
                                         expected):
  error_line(TRAIN, train_args(data[name], str(tmp_path / 'train'), *extra),
             *expected)


@pytest.mark.parametrize('label', ['7', '-1'])
def test_labels_outside_the_classes_are_refused(data, tmp_path, trained,
                                                label):
  path = data['label_%s_file' % label]
  # 4 steps of 2 read more than the split's 6 records, so the bad one is
  # read whatever the shuffle's order (2 steps may stop before it).
  error_line(TRAIN, train_args(data['label_' + label], str(tmp_path / 't'),
                               '--max_number_of_steps=4',
                               dataset='image_folder'),
             'Label %s of record' % label, path, 'outside 0..4')
  # Eval reads the same records; a 5-class checkpoint to read them with.
  checkpoint = str(tmp_path / 'five' / 'model.ckpt-0')
  util.write_model_checkpoint(checkpoint, util.SMALL_MODEL, num_classes=5)
  error_line(EVAL, eval_args(data['label_' + label], checkpoint,
                             dataset='image_folder', split='train'),
             'Label %s of record' % label, path)


def test_eval_skip_bad_records_is_accepted_and_empty_eval_is_an_error(
    data, trained):
  error_line(EVAL, eval_args(data['undecodable'], trained, split='train'),
             'Undecodable record', '--skip_bad_records')
  error_line(EVAL, eval_args(data['undecodable'], trained,
                             '--skip_bad_records', split='train'),
             "No record of split 'train'")


# ---------------------------------------------------------------------------
# Items 6-8: resume.
# ---------------------------------------------------------------------------


def test_failed_resume_is_one_line_and_keeps_flags_txt(trained, tmp_path):
  train_dir = _copy_train_dir(trained, str(tmp_path / 't'))
  flags_txt = open(os.path.join(train_dir, 'flags.txt')).read()
  error_line(TRAIN, train_args(util.digits_dir(), train_dir,
                               '--model_name=mobilenet_v1_050'),
             'Cannot resume from checkpoint', 'model.ckpt-2',
             'has shape', 'flags.txt')
  assert open(os.path.join(train_dir, 'flags.txt')).read() == flags_txt


def test_resume_falls_back_to_the_newest_readable_checkpoint(trained,
                                                             tmp_path):
  train_dir = _copy_train_dir(trained, str(tmp_path / 't'))
  _truncate_data(os.path.join(train_dir, 'model.ckpt-2'))
  # A kill -9 during a save leaves a temporary directory.
  stale = os.path.join(train_dir, 'model.ckpt-3_temp_%s' % ('ab' * 16))
  os.makedirs(stale)
  open(os.path.join(stale, 'part-00000-of-00001.data-00000-of-00001'),
       'wb').write(b'\0' * 1000)
  proc = run_ok(TRAIN, train_args(util.digits_dir(), train_dir,
                                  '--max_number_of_steps=3'))
  assert 'Resuming from %s' % os.path.join(train_dir, 'model.ckpt-0') in (
      proc.stderr)
  assert 'model.ckpt-2 (' in proc.stderr  # Names the skipped one and why.
  assert 'step 1: loss' in proc.stderr  # From step 0, the newest readable.
  assert not os.path.exists(stale)


def test_garbage_state_file_does_not_restart_from_zero(trained, tmp_path):
  train_dir = _copy_train_dir(trained, str(tmp_path / 't'))
  open(os.path.join(train_dir, 'checkpoint'), 'w').write('garbage{{{\n')
  proc = run_ok(TRAIN, train_args(util.digits_dir(), train_dir,
                                  '--max_number_of_steps=3'))
  assert 'Resuming from %s' % os.path.join(train_dir, 'model.ckpt-2') in (
      proc.stderr)
  assert 'step 3: loss' in proc.stderr and 'step 1: loss' not in proc.stderr


# ---------------------------------------------------------------------------
# Item 5: one trainer per train_dir.
# ---------------------------------------------------------------------------


def test_second_trainer_is_refused_and_a_dead_ones_lock_is_not(tmp_path):
  from train_lib import locking  # pylint: disable=g-import-not-at-top
  train_dir = str(tmp_path / 't')
  os.makedirs(train_dir)
  lock = locking.TrainDirLock(train_dir)  # "The first trainer": this process.
  try:
    error_line(TRAIN, train_args(util.digits_dir(), train_dir),
               'Another trainer (pid %d)' % os.getpid(), train_dir)
    assert not os.path.exists(os.path.join(train_dir, 'flags.txt'))
  finally:
    lock.release()
  # A killed trainer leaves its lock file (with its pid) but no lock.
  with open(os.path.join(train_dir, locking.LOCK_FILENAME), 'w') as f:
    f.write('999999\n')
  run_ok(TRAIN, train_args(util.digits_dir(), train_dir,
                           '--max_number_of_steps=1'))
  assert tf.train.latest_checkpoint(train_dir).endswith('model.ckpt-1')


# ---------------------------------------------------------------------------
# Items 9-11: one clear line.
# ---------------------------------------------------------------------------


def _cases(data, trained, tmp):
  """(script, args, expected texts) of each one-line error."""
  digits = util.digits_dir()
  latest = os.path.join(trained, 'model.ckpt-2')
  broken = _copy_train_dir(trained, os.path.join(tmp, 'broken'))
  _truncate_data(os.path.join(broken, 'model.ckpt-2'))
  _truncate_data(os.path.join(broken, 'model.ckpt-0'))
  broken_ckpt = os.path.join(broken, 'model.ckpt-2')
  other = os.path.join(tmp, 'seven', 'model.ckpt-0')
  util.write_model_checkpoint(other, util.SMALL_MODEL, num_classes=7)
  new_dir = lambda name: os.path.join(tmp, name)
  return {
      'dataset_dir_missing': (TRAIN, train_args('/nonexistent/d', new_dir(
          'a')), ['--dataset_dir=/nonexistent/d does not exist']),
      'dataset_dir_is_file': (TRAIN, train_args(data['file'], new_dir('b')),
                              ['is not a directory', data['file']]),
      'eval_dataset_dir_is_file': (EVAL, eval_args(data['file'], latest),
                                   ['is not a directory']),
      'train_dir_is_file': (TRAIN, train_args(digits, data['file']),
                            [data['file'], 'is a file']),
      'train_dir_below_file': (TRAIN, train_args(digits, os.path.join(
          data['file'], 'sub')), [data['file'], 'is a file']),
      'warm_start_truncated_data': (TRAIN, train_args(
          digits, new_dir('c'), '--checkpoint_path=%s' % broken_ckpt), [
              'Checkpoint %s is unreadable' % broken_ckpt]),
      'resume_all_truncated': (TRAIN, train_args(digits, broken), [
          'No checkpoint of %s can be read' % broken]),
      'eval_truncated_data': (EVAL, eval_args(digits, broken_ckpt), [
          'Checkpoint %s is unreadable' % broken_ckpt]),
      'saved_model_truncated_data': (SAVED_MODEL, MODEL + [
          '--dataset_name=digits', '--checkpoint_path=%s' % broken_ckpt,
          '--export_dir=%s' % new_dir('sm1'), '--image_size=32'], [
              'Checkpoint %s is unreadable' % broken_ckpt]),
      'saved_model_other_classes': (SAVED_MODEL, MODEL + [
          '--dataset_name=digits', '--checkpoint_path=%s' % other,
          '--export_dir=%s' % new_dir('sm2'), '--image_size=32'], [
              'Cannot export from checkpoint', 'has shape [7] there but [10]']),
      'export_output_below_file': (EXPORT, MODEL + [
          '--dataset_name=digits', '--output_file=%s' % os.path.join(
              data['file'], 'g.pb')], ['Cannot write --output_file=%s' %
                                       os.path.join(data['file'], 'g.pb')]),
      'image_too_small': (TRAIN, ['--model_name=lenet',
                                  '--dataset_name=digits',
                                  '--dataset_dir=%s' % digits,
                                  '--train_dir=%s' % new_dir('d'),
                                  '--train_image_size=2'],
                          ['--train_image_size/--eval_image_size=2 is too '
                           'small for lenet']),
      'zero_variables_restored': (TRAIN, train_args(
          digits, new_dir('e'), '--checkpoint_path=%s' % other,
          '--model_name=resnet_v1_50', '--ignore_missing_vars'), [
              'holds none of the model']),
      'learning_rate_zero': (TRAIN, train_args(digits, new_dir('f'),
                                               '--learning_rate=0'),
                             ['--learning_rate=0.0 must be > 0']),
      'learning_rate_negative': (TRAIN, train_args(digits, new_dir('g'),
                                                   '--learning_rate=-1'),
                                 ['--learning_rate=-1.0 must be > 0']),
      'label_smoothing_one': (TRAIN, train_args(digits, new_dir('h'),
                                                '--label_smoothing=1'),
                              ['--label_smoothing=1.0 must be in [0, 1)']),
      'label_smoothing_negative': (TRAIN, train_args(
          digits, new_dir('i'), '--label_smoothing=-0.1'),
                                   ['--label_smoothing=-0.1 must be in']),
      'positional_argument': (TRAIN, train_args(digits, new_dir('j')) + [
          'extra'], ['unexpected argument(s): extra']),
      'eval_positional_argument': (EVAL, eval_args(digits, latest) + [
          'extra'], ['unexpected argument(s): extra']),
      'corrupt_labels_txt': (TRAIN, train_args(data['bad_labels'], new_dir(
          'k')), [os.path.join(data['bad_labels'], 'labels.txt')]),
      'corrupt_metadata_json': (TRAIN, train_args(data['bad_metadata'],
                                                  new_dir('l')),
                                [os.path.join(data['bad_metadata'],
                                              'metadata.json')]),
  }


_CASE_NAMES = sorted([
    'dataset_dir_missing', 'dataset_dir_is_file', 'eval_dataset_dir_is_file',
    'train_dir_is_file', 'train_dir_below_file', 'warm_start_truncated_data',
    'resume_all_truncated', 'eval_truncated_data',
    'saved_model_truncated_data', 'saved_model_other_classes',
    'export_output_below_file', 'image_too_small', 'zero_variables_restored',
    'learning_rate_zero', 'learning_rate_negative', 'label_smoothing_one',
    'label_smoothing_negative', 'positional_argument',
    'eval_positional_argument', 'corrupt_labels_txt',
    'corrupt_metadata_json'])


@pytest.fixture(scope='module')
def cases(data, trained, tmp_path_factory):
  return _cases(data, trained, str(tmp_path_factory.mktemp('cases')))


@pytest.mark.parametrize('case', _CASE_NAMES)
def test_one_line_error(cases, case):
  script, args, expected = cases[case]
  error_line(script, args, *expected)


def test_checkpoint_file_paths_name_their_checkpoint(trained, tmp_path):
  """`.index` and `.data-*` paths work as the checkpoint prefix."""
  digits = util.digits_dir()
  index = os.path.join(trained, 'model.ckpt-2.index')
  proc = run_ok(EVAL, eval_args(digits, index, '--max_num_batches=3'))
  assert 'model.ckpt-2 (step 2, 30 examples' in proc.stdout
  # Slim-style progress: batches done of the total, and images/s.
  assert 'Evaluation [3/3]' in proc.stderr
  assert float(proc.stderr.split('Evaluation [3/3] ')[1].split(
      ' images/s')[0]) > 0
  data_file = glob.glob(os.path.join(trained, 'model.ckpt-2.data-*'))[0]
  proc = run_ok(TRAIN, train_args(digits, str(tmp_path / 'warm'),
                                  '--checkpoint_path=%s' % data_file,
                                  '--max_number_of_steps=1'))
  assert os.path.join(trained, 'model.ckpt-2') in proc.stderr
