"""Converters against archives in the upstream layout served on 127.0.0.1."""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import glob
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tarfile

import numpy as np
import pytest
from PIL import Image

from tests import dataset_testutil as dtu
from datasets import cifar10
from datasets import dataset_factory
from datasets import dataset_utils
from datasets import digits
from datasets import flowers
from datasets import image_folder
from datasets import mnist

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
  # A proxy from the environment must not intercept 127.0.0.1.
  for var in ('NO_PROXY', 'no_proxy'):
    monkeypatch.setenv(var, '127.0.0.1,localhost')


def _records(dataset_dir, pattern):
  out = []
  for path in sorted(glob.glob(os.path.join(dataset_dir, pattern))):
    out.extend(dtu.read_records(path))
  return out


def _outside_untouched(tmp_path, dataset_dir_name='ds'):
  """Every file under tmp_path is inside tmp_path/<dataset_dir_name>."""
  for rel in dtu.files_under(str(tmp_path)):
    assert rel.startswith(dataset_dir_name + os.sep), rel


# ---------------------------------------------------------------------------
# digits (offline)
# ---------------------------------------------------------------------------


def test_digits_records_equal_sklearn_pixels_and_labels(tmp_path):
  from sklearn.datasets import load_digits
  out = str(tmp_path / 'digits')
  digits.run(out)
  source = load_digits()
  splits = digits.split_indices(source.target)
  assert {k: len(v) for k, v in splits.items()} == digits.SPLITS_TO_SIZES
  assert not set(splits['train']) & set(splits['validation'])
  for split_name, indices in splits.items():
    records = _records(out, digits.FILE_PATTERN % split_name)
    assert len(records) == len(indices)
    for (image, label, fmt), i in zip(records, indices):
      assert fmt == b'png' and image.shape == (32, 32)
      assert image.dtype == np.uint8
      assert label == source.target[i]
      # 4x4 blocks of one value each, that value = round(v * 255 / 16).
      np.testing.assert_array_equal(image, np.kron(image[::4, ::4],
                                                   np.ones((4, 4), np.uint8)))
      np.testing.assert_array_equal(
          image[::4, ::4],
          np.round(source.images[i] * 255 / 16).astype(np.uint8))
  # Lossless: the 17 input levels map to 17 distinct stored levels.
  assert len(set(np.round(np.arange(17) * 255 / 16))) == 17
  # Stratified: each class has ~20% in validation.
  val_counts = np.bincount(source.target[splits['validation']], minlength=10)
  all_counts = np.bincount(source.target, minlength=10)
  assert np.all(np.abs(val_counts - 0.2 * all_counts) <= 0.5)
  assert dataset_utils.read_label_file(out)[6] == 'six'
  # The split is deterministic and a finished dataset is not rebuilt.
  mtimes = {p: os.path.getmtime(p) for p in glob.glob(out + '/*')}
  digits.run(out)
  assert mtimes == {p: os.path.getmtime(p) for p in glob.glob(out + '/*')}
  split = dataset_factory.get_dataset('digits', 'validation', out)
  assert (split.num_samples, split.num_classes, split.channels) == (359, 10, 3)


# ---------------------------------------------------------------------------
# cifar10
# ---------------------------------------------------------------------------


def _tiny_cifar():
  batches = {}
  for i, name in enumerate(cifar10.SPLIT_BATCHES['train'] + ['test_batch']):
    n = 2 if name != 'test_batch' else 3
    batches[name] = (dtu.random_images(n, 32, 32, seed=i),
                     [(i + j) % 10 for j in range(n)])
  return batches


def test_cifar10_from_mirror_roundtrips_pixels_and_labels(tmp_path):
  batches = _tiny_cifar()
  archive = dtu.cifar_tarball(batches)
  out = str(tmp_path / 'ds')
  with dtu.LocalHTTPServer({cifar10.ARCHIVE: archive}) as server:
    cifar10.run(out, mirror=server.url)
    first_requests = list(server.requests)
    cifar10.run(out, mirror=server.url)  # Complete: not downloaded again.
    assert server.requests == first_requests == [(cifar10.ARCHIVE, None)]
  for split_name, names in cifar10.SPLIT_BATCHES.items():
    records = _records(out, cifar10.FILE_PATTERN % split_name)
    expected = [(im, lb) for n in names for im, lb in zip(*batches[n])]
    assert len(records) == len(expected)
    for (image, label, fmt), (exp_image, exp_label) in zip(records, expected):
      assert fmt == b'png'
      np.testing.assert_array_equal(image, exp_image)
      assert label == exp_label
  assert dataset_utils.read_label_file(out) == dict(enumerate(
      cifar10.CLASS_NAMES))
  # Archive and extraction directory are gone; only the outputs remain.
  assert sorted(os.listdir(out)) == ['cifar10_test.tfrecord',
                                     'cifar10_train.tfrecord', 'labels.txt',
                                     'metadata.json']
  split = dataset_factory.get_dataset('cifar10', 'train', out)
  assert (split.num_samples, split.num_classes) == (10, 10)


def test_cifar10_upstream_checksum_is_enforced(tmp_path, monkeypatch):
  archive = dtu.cifar_tarball(_tiny_cifar())
  out = str(tmp_path / 'ds')
  with dtu.LocalHTTPServer({cifar10.ARCHIVE: archive}) as server:
    monkeypatch.setattr(cifar10, 'BASE_URL', server.url)
    with pytest.raises(ValueError, match='SHA-256 mismatch.*' +
                       cifar10.ARCHIVE_SHA256):
      cifar10.run(out)
    assert os.listdir(out) == []  # The bad download was deleted.
    # The same bytes pass when they are the known upstream archive.
    monkeypatch.setattr(cifar10, 'ARCHIVE_SHA256',
                        hashlib.sha256(archive).hexdigest())
    cifar10.run(out)
  assert len(_records(out, 'cifar10_test.tfrecord')) == 3


class _RunsACommand(object):

  def __init__(self, command):
    self.command = command

  def __reduce__(self):
    return (os.system, (self.command,))


def test_cifar10_pickle_that_runs_a_command_is_refused(tmp_path):
  marker = tmp_path / 'pwned'
  batches = _tiny_cifar()
  members = [('cifar-10-batches-py/' + n, dtu.cifar_batch_pickle(*b))
             for n, b in sorted(batches.items())]
  members[0] = ('cifar-10-batches-py/data_batch_1',
                pickle.dumps(_RunsACommand('touch %s' % marker), protocol=2))
  out = str(tmp_path / 'ds')
  with dtu.LocalHTTPServer({cifar10.ARCHIVE: dtu.tar_bytes(members)}) as srv:
    with pytest.raises(ValueError, match=r'data_batch_1.*posix\.system'):
      cifar10.run(out, mirror=srv.url)
  assert not marker.exists()
  _outside_untouched(tmp_path)
  assert not glob.glob(os.path.join(out, '*.tfrecord'))


# ---------------------------------------------------------------------------
# mnist
# ---------------------------------------------------------------------------


def test_mnist_from_mirror_roundtrips_pixels_and_labels(tmp_path):
  train_images = dtu.random_images(5, 28, 28, channels=None, seed=1)
  test_images = dtu.random_images(3, 28, 28, channels=None, seed=2)
  files = dtu.mnist_files(train_images, [5, 0, 4, 1, 9], 'train')
  files.update(dtu.mnist_files(test_images, [7, 2, 1], 't10k'))
  assert sorted(files) == sorted(mnist.SHA256)
  out = str(tmp_path / 'ds')
  with dtu.LocalHTTPServer(files) as server:
    mnist.run(out, mirror=server.url)
  for split_name, images, labels in (('train', train_images, [5, 0, 4, 1, 9]),
                                     ('test', test_images, [7, 2, 1])):
    records = _records(out, mnist.FILE_PATTERN % split_name)
    assert [r[1] for r in records] == labels
    for (image, _, fmt), expected in zip(records, images):
      assert fmt == b'png'
      np.testing.assert_array_equal(image, expected)
  assert sorted(os.listdir(out)) == ['labels.txt', 'metadata.json',
                                     'mnist_test.tfrecord',
                                     'mnist_train.tfrecord']
  split = dataset_factory.get_dataset('mnist', 'test', out)
  assert (split.num_samples, split.channels) == (3, 1)


# ---------------------------------------------------------------------------
# flowers
# ---------------------------------------------------------------------------


def _flower_tree(n_per_class=3):
  members, sources = [('flower_photos', None),
                      ('flower_photos/LICENSE.txt', b'CC-BY')], {}
  for c, name in enumerate(['tulips', 'daisy', 'roses']):
    members.append(('flower_photos/' + name, None))
    for j in range(n_per_class):
      data = dtu.encode_jpeg(
          dtu.random_images(1, 20 + j, 30, seed=10 * c + j)[0])
      path = 'flower_photos/%s/%d.jpg' % (name, j)
      members.append((path, data))
      sources[data] = name
  return members, sources


def test_flowers_from_mirror_keeps_jpeg_bytes_and_sorted_class_ids(tmp_path):
  members, sources = _flower_tree()
  out = str(tmp_path / 'ds')
  with dtu.LocalHTTPServer({flowers.ARCHIVE: dtu.tar_bytes(members)}) as srv:
    flowers.run(out, mirror=srv.url, num_validation=2, num_shards=2)
  assert dataset_utils.read_label_file(out) == {0: 'daisy', 1: 'roses',
                                                2: 'tulips'}
  ids = {'daisy': 0, 'roses': 1, 'tulips': 2}
  seen = []
  for split_name, size in (('train', 7), ('validation', 2)):
    paths = sorted(glob.glob(os.path.join(out, flowers.FILE_PATTERN %
                                          split_name)))
    assert [os.path.basename(p) for p in paths] == [
        'flowers_%s_0000%d-of-00002.tfrecord' % (split_name, i)
        for i in range(2)]
    import tensorflow.compat.v1 as tf
    for path in paths:
      for raw in tf.io.tf_record_iterator(path):
        f = tf.train.Example.FromString(raw).features.feature
        data = f['image/encoded'].bytes_list.value[0]
        assert data in sources  # Original JPEG bytes, unchanged.
        assert f['image/class/label'].int64_list.value[0] == ids[sources[data]]
        assert f['image/format'].bytes_list.value[0] == b'jpg'
        h, w = f['image/height'].int64_list.value[0], f[
            'image/width'].int64_list.value[0]
        assert Image.open(io.BytesIO(data)).size == (w, h)
        seen.append(data)
    assert dataset_factory.get_dataset('flowers', split_name,
                                       out).num_samples == size
  assert sorted(seen) == sorted(sources)  # Every photo exactly once.


@pytest.mark.parametrize('evil', ['dotdot', 'absolute', 'symlink', 'hardlink'])
def test_tarball_escaping_the_target_is_refused(tmp_path, evil):
  members, _ = _flower_tree(1)
  if evil == 'dotdot':
    bad_name = 'flower_photos/../../escaped.txt'
    members.append((bad_name, b'x'))
  elif evil == 'absolute':
    bad_name = str(tmp_path / 'escaped.txt')
    members.append((bad_name, b'x'))
  else:
    bad_name = 'flower_photos/daisy/link'
    info = tarfile.TarInfo(bad_name)
    info.type = tarfile.SYMTYPE if evil == 'symlink' else tarfile.LNKTYPE
    info.linkname = ('../../../escaped.txt' if evil == 'symlink'
                     else '../escaped.txt')
    members.append(info)
    members.append((bad_name, b'written through the link'))
  out = str(tmp_path / 'ds')
  with dtu.LocalHTTPServer({flowers.ARCHIVE: dtu.tar_bytes(members)}) as srv:
    with pytest.raises(ValueError, match='Refusing archive member %r' %
                       bad_name):
      flowers.run(out, mirror=srv.url, num_validation=1)
  assert not (tmp_path / 'escaped.txt').exists()
  _outside_untouched(tmp_path)
  assert not glob.glob(os.path.join(out, '*.tfrecord'))
  assert not glob.glob(os.path.join(out, '.*'))  # Extraction dir removed.


# ---------------------------------------------------------------------------
# Downloads: Content-Length, resume, restart.
# ---------------------------------------------------------------------------


def test_download_resumes_after_a_short_read(tmp_path):
  data = os.urandom(50000)
  with dtu.LocalHTTPServer({'blob.bin': data},
                           truncate_once={'blob.bin': 12345}) as server:
    with pytest.raises(IOError, match='got 12345 of 50000 bytes'):
      dataset_utils.download(server.url + 'blob.bin', str(tmp_path),
                             progress=False)
    assert not (tmp_path / 'blob.bin').exists()  # Only the .part.
    assert (tmp_path / 'blob.bin.part').stat().st_size == 12345
    path = dataset_utils.download(server.url + 'blob.bin', str(tmp_path),
                                  sha256=hashlib.sha256(data).hexdigest(),
                                  progress=False)
    assert server.requests == [('blob.bin', None),
                               ('blob.bin', 'bytes=12345-')]
  assert open(path, 'rb').read() == data
  assert os.listdir(str(tmp_path)) == ['blob.bin']


def test_download_restarts_when_the_server_ignores_range(tmp_path):
  data = os.urandom(30000)
  with dtu.LocalHTTPServer({'blob.bin': data}, support_range=False,
                           truncate_once={'blob.bin': 999}) as server:
    with pytest.raises(IOError, match='Incomplete download'):
      dataset_utils.download(server.url + 'blob.bin', str(tmp_path),
                             progress=False)
    path = dataset_utils.download(server.url + 'blob.bin', str(tmp_path),
                                  progress=False)
  assert open(path, 'rb').read() == data


def test_download_missing_file_is_an_error_naming_the_url(tmp_path):
  with dtu.LocalHTTPServer({}) as server:
    with pytest.raises(IOError, match='nope.tgz: HTTP 404'):
      dataset_utils.download(server.url + 'nope.tgz', str(tmp_path),
                             progress=False)


# ---------------------------------------------------------------------------
# image_folder
# ---------------------------------------------------------------------------


def _image_tree(root):
  """cat: 4 PNG + 1 CMYK JPEG + garbage.jpg; dog: 3 JPEG (1 gray) + notes."""
  pngs = {}
  for name in ('cat', 'dog'):
    os.makedirs(os.path.join(root, name))
  for j in range(4):
    image = dtu.random_images(1, 10 + j, 12, seed=j)[0]
    path = os.path.join(root, 'cat', 'c%d.PNG' % j)
    open(path, 'wb').write(dtu.encode_png(image))
    pngs[path] = image
  rgb = np.zeros((8, 8, 3), np.uint8)
  rgb[..., 0] = 200
  open(os.path.join(root, 'cat', 'cmyk.jpg'), 'wb').write(
      dtu.encode_jpeg(rgb, mode='CMYK'))
  open(os.path.join(root, 'cat', 'garbage.jpg'), 'wb').write(b'not an image')
  for j in range(3):
    open(os.path.join(root, 'dog', 'd%d.jpeg' % j), 'wb').write(
        dtu.encode_jpeg(dtu.random_images(1, 9, 9, seed=20 + j)[0],
                        mode='L' if j == 0 else None))
  open(os.path.join(root, 'dog', 'notes.txt'), 'w').write('hello')
  return pngs


def test_image_folder_converts_tree_and_reports_bad_files(tmp_path):
  src = str(tmp_path / 'src')
  pngs = _image_tree(src)
  out = str(tmp_path / 'out')
  sizes = image_folder.run(out, source_dir=src, validation_fraction=0.25)
  # cat: 5 usable (round(0.25*6)=2 of 6 files to validation, the garbage one
  # may land in either split); dog: 3 (1 validation).
  assert sizes['train'] + sizes['validation'] == 8
  info = dataset_utils.read_metadata(out)
  assert info['classes'] == ['cat', 'dog'] and info['num_classes'] == 2
  assert info['skipped'] == sorted([os.path.join(src, 'cat', 'garbage.jpg'),
                                    os.path.join(src, 'dog', 'notes.txt')])
  records = (_records(out, 'image_folder_train_*.tfrecord') +
             _records(out, 'image_folder_validation_*.tfrecord'))
  assert sorted(r[1] for r in records) == [0] * 5 + [1] * 3
  found_pngs = 0
  for image, label, fmt in records:
    if fmt == b'png':
      assert label == 0
      assert any(image.shape == v.shape and np.array_equal(image, v)
                 for v in pngs.values())
      found_pngs += 1
    else:
      assert fmt == b'jpeg'
      if image.shape == (8, 8, 3):  # The CMYK JPEG, now RGB.
        assert label == 0
        assert np.all(np.abs(image.astype(int) - [200, 0, 0]) < 12)
  assert found_pngs == 4
  for split_name in ('train', 'validation'):
    split = dataset_factory.get_dataset('image_folder', split_name, out)
    assert split.num_samples == sizes[split_name]
    assert split.num_classes == 2
    assert split.labels_to_names == {0: 'cat', 1: 'dog'}


def test_image_folder_reconversion_replaces_old_shards(tmp_path):
  src = str(tmp_path / 'src')
  _image_tree(src)
  out = str(tmp_path / 'out')
  image_folder.run(out, source_dir=src, validation_fraction=0.25)
  stale = os.path.join(out, 'image_folder_train_00007-of-00009.tfrecord')
  open(stale, 'wb').close()
  image_folder.run(out, source_dir=src, validation_fraction=0.0)
  assert not os.path.exists(stale)
  assert dataset_utils.read_metadata(out)['splits'] == {'train': 8,
                                                        'validation': 0}
  with pytest.raises(ValueError, match='image_folder_validation_'):
    dataset_factory.get_dataset('image_folder', 'validation', out)


def test_image_folder_bad_arguments(tmp_path):
  with pytest.raises(ValueError, match="--source_dir '.*missing' is not a"):
    image_folder.run(str(tmp_path / 'o'), source_dir=str(tmp_path / 'missing'))
  os.makedirs(str(tmp_path / 'empty'))
  with pytest.raises(ValueError, match='no class sub-directories'):
    image_folder.run(str(tmp_path / 'o'), source_dir=str(tmp_path / 'empty'))
  with pytest.raises(ValueError, match=r'--validation_fraction=1\.5'):
    image_folder.run(str(tmp_path / 'o'), source_dir=str(tmp_path / 'empty'),
                     validation_fraction=1.5)


# ---------------------------------------------------------------------------
# Command line.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize('args,message', [
    (['--dataset_name=cifar100', '--dataset_dir=/nonexistent/x'],
     "unknown --dataset_name='cifar100'; expected one of: cifar10, digits, "
     'flowers, image_folder, imagenet, mnist'),
    (['--dataset_name=image_folder', '--validation_fraction=abc'],
     "flag --validation_fraction=abc: could not convert string to float: "
     "'abc'"),
], ids=['bad_name', 'bad_float'])
def test_cli_bad_input_is_a_one_line_error(args, message):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  proc = subprocess.run(
      [sys.executable, os.path.join(ROOT, 'download_and_convert_data.py')] +
      args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT,
      timeout=120)
  assert proc.returncode == 1
  assert proc.stderr.decode().strip().splitlines() == [
      'download_and_convert_data: error: ' + message]
  assert not os.path.exists('/nonexistent/x')


def test_cli_convert_validates_flags(tmp_path):
  sys.path.insert(0, ROOT)
  import download_and_convert_data as cli
  with pytest.raises(ValueError, match='needs --source_dir'):
    cli.convert('image_folder', str(tmp_path))
  with pytest.raises(ValueError, match='--mirror does not apply to '
                     '--dataset_name=digits'):
    cli.convert('digits', str(tmp_path), mirror='http://x/')
  src = str(tmp_path / 'src')
  _image_tree(src)
  cli.convert('image_folder', str(tmp_path / 'out'), source_dir=src,
              validation_fraction=0.5)
  # Split per class before decoding: cat 3 of 6 files, dog round(1.5) = 2 of
  # 3; with seed 0 the garbage file falls in train.
  assert dataset_utils.read_metadata(str(tmp_path / 'out'))['splits'] == {
      'train': 3, 'validation': 5}


def test_interrupted_conversion_restarts_from_the_kept_archive(tmp_path):
  """A run that died after the download: the archive is reused, the half-
  written temporaries are removed, and nothing is fetched again."""
  batches = _tiny_cifar()
  archive = dtu.cifar_tarball(batches)
  out = tmp_path / 'ds'
  out.mkdir()
  (out / cifar10.ARCHIVE).write_bytes(archive)  # Complete, renamed download.
  stale = out / '.cifar10_train.tfrecord.incomplete'
  stale.write_bytes(b'half a shard')
  (out / '.extract.incomplete').mkdir()
  with dtu.LocalHTTPServer({cifar10.ARCHIVE: archive}) as server:
    cifar10.run(str(out), mirror=server.url)
    assert server.requests == []
  assert sorted(os.listdir(str(out))) == ['cifar10_test.tfrecord',
                                          'cifar10_train.tfrecord',
                                          'labels.txt', 'metadata.json']
  assert [r[1] for r in _records(str(out), 'cifar10_test.tfrecord')] == list(
      batches['test_batch'][1])
