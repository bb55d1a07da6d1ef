"""Converter helpers: records, labels, downloads, archives.

Everything a converter writes goes through here, so the on-disk contract is in
one place:

* Records use TF-Slim's keys (`image/encoded`, `image/format`,
  `image/class/label`, `image/height`, `image/width`), so Slim reads our
  TFRecords and we read Slim's.
* Outputs are written to a hidden temporary name (`.<name>.incomplete`) and
  renamed when complete, so a crash never leaves a truncated file under a name
  a reader would pick up, and never clobbers a good file.
* Downloads check the size against the server's Content-Length and, for the
  upstream archives, a known SHA-256; an interrupted download resumes.
* Archives from the network are untrusted: tar members that would land outside
  the target directory are refused, and pickles are read with an unpickler that
  only admits the numpy types real CIFAR batches contain.

Typical use:

    from datasets import dataset_utils

    path = dataset_utils.download(url, dataset_dir, sha256=known_sha256)
    dataset_utils.safe_extract_tar(path, tmp_dir)
    with dataset_utils.AtomicTFRecordWriter(out_path) as writer:
      writer.write(dataset_utils.image_to_tfexample(
          png_bytes, b'png', height, width, label).SerializeToString())
    dataset_utils.write_label_file({0: 'zero', 1: 'one'}, dataset_dir)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import contextlib
import glob
import hashlib
import io
import json
import os
import pickle
import shutil
import sys
import tarfile
import urllib.error
import urllib.request

import numpy as np
import tensorflow.compat.v1 as tf
from absl import logging

LABELS_FILENAME = 'labels.txt'
# Written last by every converter: its presence means the dataset is complete.
METADATA_FILENAME = 'metadata.json'
TMP_SUFFIX = '.incomplete'


# ---------------------------------------------------------------------------
# tf.train.Example helpers (Slim's record format).
# ---------------------------------------------------------------------------


def int64_feature(values):
  """Returns an int64 `tf.train.Feature` from an int or a list of ints."""
  if not isinstance(values, (tuple, list)):
    values = [values]
  return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def bytes_feature(values):
  """Returns a bytes `tf.train.Feature` from bytes/str or a list of them."""
  if not isinstance(values, (tuple, list)):
    values = [values]
  values = [v.encode('utf-8') if isinstance(v, str) else v for v in values]
  return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))


def float_feature(values):
  """Returns a float `tf.train.Feature` from a float or a list of floats."""
  if not isinstance(values, (tuple, list)):
    values = [values]
  return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def image_to_tfexample(image_data, image_format, height, width, class_id,
                       extra_features=None):
  """Builds a `tf.train.Example` with Slim's image record keys.

  Args:
    image_data: encoded image bytes (PNG or JPEG).
    image_format: bytes or str, e.g. b'png' or b'jpeg'.
    height: int, image height in pixels.
    width: int, image width in pixels.
    class_id: int label.
    extra_features: optional dict of more `tf.train.Feature`s (ImageNet's
      synset, text and bounding boxes).

  Returns:
    A `tf.train.Example`.
  """
  feature = {
      'image/encoded': bytes_feature(image_data),
      'image/format': bytes_feature(image_format),
      'image/class/label': int64_feature(int(class_id)),
      'image/height': int64_feature(int(height)),
      'image/width': int64_feature(int(width)),
  }
  if extra_features:
    feature.update(extra_features)
  return tf.train.Example(features=tf.train.Features(feature=feature))


def encode_png(array):
  """PNG-encodes a uint8 image losslessly.

  Args:
    array: uint8 numpy array [H, W] or [H, W, 1] (grayscale) or [H, W, 3].

  Returns:
    The PNG bytes.
  """
  from PIL import Image  # pylint: disable=g-import-not-at-top
  array = np.asarray(array)
  if array.dtype != np.uint8:
    raise ValueError('encode_png needs uint8 pixels, got dtype %s' %
                     array.dtype)
  if array.ndim == 3 and array.shape[2] == 1:
    array = array[:, :, 0]
  if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
    raise ValueError('encode_png needs [H, W], [H, W, 1] or [H, W, 3], got '
                     'shape %s' % (array.shape,))
  buf = io.BytesIO()
  Image.fromarray(array, mode='L' if array.ndim == 2 else 'RGB').save(
      buf, format='PNG')
  return buf.getvalue()


class BadImageError(ValueError):
  """An input file is not an image PIL can fully decode."""


def prepare_image(data, reencode_png=False, jpeg_quality=100):
  """Checks an encoded image and returns what a record should store.

  JPEGs in RGB or grayscale (and PNGs unless `reencode_png`) are kept
  byte-for-byte. Anything else a TF decoder may mishandle (CMYK JPEGs, GIF,
  BMP, TIFF, ...) is re-encoded as an RGB JPEG, as Slim's ImageNet builder
  does for its CMYK and PNG oddities.

  Args:
    data: the file's bytes.
    reencode_png: also turn PNGs into RGB JPEGs (ImageNet records are JPEG).
    jpeg_quality: quality of re-encoded JPEGs (Slim uses 100).

  Returns:
    (encoded bytes, format bytes b'jpeg' or b'png', height, width, note) where
    note is None, or a short string saying why the image was re-encoded.

  Raises:
    BadImageError: the bytes are not a fully decodable image.
  """
  from PIL import Image  # pylint: disable=g-import-not-at-top
  try:
    image = Image.open(io.BytesIO(data))
    image.load()  # Decodes everything, so a truncated file fails here.
  except Exception as e:  # PIL raises many types for bad input.
    raise BadImageError('not a decodable image (%s: %s)' %
                        (type(e).__name__, e))
  width, height = image.size
  if image.format == 'JPEG' and image.mode in ('RGB', 'L'):
    return data, b'jpeg', height, width, None
  if image.format == 'PNG' and not reencode_png:
    return data, b'png', height, width, None
  note = 're-encoded %s %s as RGB JPEG' % (image.format, image.mode)
  buf = io.BytesIO()
  image.convert('RGB').save(buf, format='JPEG', quality=jpeg_quality)
  return buf.getvalue(), b'jpeg', height, width, note


# ---------------------------------------------------------------------------
# Atomic outputs.
# ---------------------------------------------------------------------------


def tmp_path_for(path):
  """Returns the hidden temporary name `path` is written under.

  The leading dot and the suffix keep it out of every dataset's glob pattern.
  """
  head, tail = os.path.split(path)
  return os.path.join(head, '.%s%s' % (tail, TMP_SUFFIX))


def remove_stale_tmp_files(directory):
  """Deletes temporaries a crashed run left in `directory`; returns them."""
  stale = sorted(glob.glob(os.path.join(directory, '.*' + TMP_SUFFIX)))
  for path in stale:
    if os.path.isdir(path):
      shutil.rmtree(path, ignore_errors=True)
    else:
      os.remove(path)
  return stale


@contextlib.contextmanager
def atomic_output(path, mode='wb'):
  """Opens `path`'s temporary name; renames it to `path` only on success."""
  tmp = tmp_path_for(path)
  try:
    with open(tmp, mode) as f:
      yield f
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


class AtomicTFRecordWriter(object):
  """A `TFRecordWriter` that appears under its final name only when closed.

  Use as a context manager; on an exception the partial file is deleted and
  whatever was at the final name before is left untouched.
  """

  def __init__(self, path):
    self.path = path
    self._tmp = tmp_path_for(path)
    self._writer = tf.io.TFRecordWriter(self._tmp)
    self.count = 0

  def write(self, serialized):
    self._writer.write(serialized)
    self.count += 1

  def __enter__(self):
    return self

  def __exit__(self, exc_type, exc, tb):
    self._writer.close()
    if exc_type is None:
      os.replace(self._tmp, self.path)
    elif os.path.exists(self._tmp):
      os.remove(self._tmp)
    return False


def shard_filename(dataset_dir, pattern, split_name, shard_id, num_shards):
  """Returns `dataset_dir/<pattern with split and shard>`.

  `pattern` has `%(split)s`, `%(shard)05d` and `%(num)05d` fields, e.g.
  'flowers_%(split)s_%(shard)05d-of-%(num)05d.tfrecord'.
  """
  return os.path.join(dataset_dir, pattern % {
      'split': split_name, 'shard': shard_id, 'num': num_shards})


def write_sharded(examples, dataset_dir, pattern, split_name, num_shards):
  """Writes serialized examples into `num_shards` contiguous, ordered shards.

  Args:
    examples: list of serialized `tf.train.Example` bytes, in output order.
    dataset_dir: output directory.
    pattern: see `shard_filename`.
    split_name: e.g. 'train'.
    num_shards: number of output files.

  Returns:
    The list of shard paths written.
  """
  paths = []
  bounds = np.linspace(0, len(examples), num_shards + 1).astype(int)
  for shard in range(num_shards):
    path = shard_filename(dataset_dir, pattern, split_name, shard, num_shards)
    with AtomicTFRecordWriter(path) as writer:
      for serialized in examples[bounds[shard]:bounds[shard + 1]]:
        writer.write(serialized)
    paths.append(path)
  return paths


# ---------------------------------------------------------------------------
# labels.txt and metadata.json.
# ---------------------------------------------------------------------------


def write_label_file(labels_to_class_names, dataset_dir,
                     filename=LABELS_FILENAME):
  """Writes `id:name` lines, sorted by id, atomically."""
  with atomic_output(os.path.join(dataset_dir, filename), 'w') as f:
    for label in sorted(labels_to_class_names):
      f.write('%d:%s\n' % (label, labels_to_class_names[label]))


def has_labels(dataset_dir, filename=LABELS_FILENAME):
  return os.path.isfile(os.path.join(dataset_dir, filename))


def read_label_file(dataset_dir, filename=LABELS_FILENAME):
  """Reads `labels.txt` (lines `id:name`) into a dict id -> name."""
  labels_to_class_names = {}
  with open(os.path.join(dataset_dir, filename)) as f:
    for line in f:
      line = line.rstrip('\n')
      if not line:
        continue
      index = line.index(':')
      labels_to_class_names[int(line[:index])] = line[index + 1:]
  return labels_to_class_names


def write_metadata(dataset_dir, name, splits, classes, file_pattern, **extra):
  """Writes `metadata.json`: the marker that a converted dataset is complete.

  Args:
    dataset_dir: output directory.
    name: dataset name.
    splits: dict split name -> number of records written.
    classes: list of class names, index = label.
    file_pattern: the glob pattern (with `%s` for the split) of the records.
    **extra: more JSON-serializable fields.
  """
  info = dict(name=name, splits=splits, classes=list(classes),
              num_classes=len(classes), file_pattern=file_pattern)
  info.update(extra)
  with atomic_output(os.path.join(dataset_dir, METADATA_FILENAME), 'w') as f:
    json.dump(info, f, indent=1, sort_keys=True)
    f.write('\n')


def read_metadata(dataset_dir):
  """Returns the parsed `metadata.json` of `dataset_dir`, or None if absent."""
  path = os.path.join(dataset_dir, METADATA_FILENAME)
  if not os.path.isfile(path):
    return None
  with open(path) as f:
    return json.load(f)


def dataset_is_complete(dataset_dir, name):
  """True if `dataset_dir` holds a finished conversion of dataset `name`."""
  info = read_metadata(dataset_dir)
  if not info or info.get('name') != name:
    return False
  if not has_labels(dataset_dir):
    return False
  for split, size in info['splits'].items():
    pattern = os.path.join(dataset_dir, info['file_pattern'] % split)
    if size and not glob.glob(pattern):
      return False
  return True


# ---------------------------------------------------------------------------
# Downloads.
# ---------------------------------------------------------------------------


def sha256_of(path, chunk_size=1 << 20):
  digest = hashlib.sha256()
  with open(path, 'rb') as f:
    for chunk in iter(lambda: f.read(chunk_size), b''):
      digest.update(chunk)
  return digest.hexdigest()


def _progress(name, done, total):
  if total:
    sys.stderr.write('\r>> Downloading %s %5.1f%% (%d / %d bytes)' %
                     (name, 100.0 * done / total, done, total))
  else:
    sys.stderr.write('\r>> Downloading %s %d bytes' % (name, done))
  sys.stderr.flush()


def download(url, directory, sha256=None, timeout=60, progress=True,
             chunk_size=1 << 16):
  """Downloads `url` into `directory` under its own basename.

  The bytes go to `<name>.part` (kept between runs so an interrupted download
  resumes with an HTTP Range request; a server that ignores Range makes it
  start over). Only when the size matches the server's Content-Length and,
  if given, the SHA-256 matches, is the file renamed to `<name>`. An existing
  `<name>` is reused (after its checksum, when one is known).

  Args:
    url: the URL; its last path component names the file.
    directory: where to put it.
    sha256: expected hex digest, or None to skip the check (mirrors).
    timeout: socket timeout in seconds.
    progress: print a progress line to stderr.
    chunk_size: read size in bytes.

  Returns:
    The path of the complete file.

  Raises:
    IOError: the download failed or stopped short of Content-Length (run
      again to resume).
    ValueError: the SHA-256 does not match (the file is deleted).
  """
  name = url.rstrip('/').split('/')[-1]
  path = os.path.join(directory, name)
  if os.path.isfile(path):
    if sha256 is None or sha256_of(path) == sha256:
      logging.info('Reusing downloaded %s', path)
      return path
    logging.warning('%s has the wrong SHA-256; downloading it again', path)
    os.remove(path)
  part = path + '.part'
  have = os.path.getsize(part) if os.path.isfile(part) else 0
  request = urllib.request.Request(url)
  if have:
    request.add_header('Range', 'bytes=%d-' % have)
  try:
    response = urllib.request.urlopen(request, timeout=timeout)
  except urllib.error.HTTPError as e:
    if e.code == 416 and have:  # Range past the end: our .part is bogus.
      os.remove(part)
      return download(url, directory, sha256, timeout, progress, chunk_size)
    raise IOError('Cannot download %s: HTTP %d %s' % (url, e.code, e.reason))
  except (urllib.error.URLError, OSError) as e:
    raise IOError('Cannot download %s: %s' % (url, getattr(e, 'reason', e)))
  with response:
    length = response.headers.get('Content-Length')
    length = int(length) if length is not None else None
    if have and response.status == 206:
      logging.info('Resuming %s at byte %d', name, have)
      mode, done = 'ab', have
    else:
      mode, done = 'wb', 0
    total = None if length is None else done + length
    try:
      with open(part, mode) as f:
        while True:
          chunk = response.read(chunk_size)
          if not chunk:
            break
          f.write(chunk)
          done += len(chunk)
          if progress:
            _progress(name, done, total)
    except (OSError, IOError) as e:  # e.g. connection reset mid-body.
      logging.warning('Download of %s interrupted: %s', url, e)
    if progress:
      sys.stderr.write('\n')
  size = os.path.getsize(part)
  if total is not None and size != total:
    if size > total:
      os.remove(part)
    raise IOError('Incomplete download of %s: got %d of %d bytes (the '
                  'server\'s Content-Length); run again to resume' %
                  (url, size, total))
  if sha256 is not None:
    actual = sha256_of(part)
    if actual != sha256:
      os.remove(part)
      raise ValueError('SHA-256 mismatch for %s: expected %s, got %s; the file '
                       'was deleted (use --mirror for a copy with other '
                       'contents)' % (url, sha256, actual))
  os.replace(part, path)
  logging.info('Downloaded %s (%d bytes)', path, size)
  return path


# ---------------------------------------------------------------------------
# Untrusted archives.
# ---------------------------------------------------------------------------


def _within(root, path):
  root = os.path.realpath(root)
  path = os.path.realpath(path)
  return path == root or path.startswith(root + os.sep)


def check_tar_members(tar, target_dir):
  """Raises ValueError naming the first member that would escape target_dir.

  Refused: absolute names, names with a `..` component, device/FIFO members,
  and symbolic or hard links whose target is absolute or resolves outside.
  """
  for member in tar.getmembers():
    name = member.name
    parts = name.replace('\\', '/').split('/')
    if name.startswith(('/', '\\')) or os.path.isabs(name) or '..' in parts:
      raise ValueError('Refusing archive member %r: absolute path or ".." '
                       'component' % name)
    if not _within(target_dir, os.path.join(target_dir, name)):
      raise ValueError('Refusing archive member %r: it resolves outside %s' %
                       (name, target_dir))
    if member.isdev() or member.isfifo():
      raise ValueError('Refusing archive member %r: device or FIFO' % name)
    if member.issym() or member.islnk():
      link = member.linkname
      if os.path.isabs(link):
        raise ValueError('Refusing archive member %r: link to absolute path '
                         '%r' % (name, link))
      base = os.path.dirname(name) if member.issym() else ''
      dest = os.path.normpath(os.path.join(target_dir, base, link))
      if not _within(target_dir, dest) or '..' in os.path.normpath(
          os.path.join(base, link)).split(os.sep):
        raise ValueError('Refusing archive member %r: link %r points outside '
                         'the target directory' % (name, link))


def safe_extract_tar(archive_path, target_dir):
  """Extracts a tar archive after checking every member with check_tar_members.

  Members are checked before anything is written, and each path is checked
  again at extraction time so a link extracted earlier cannot redirect a later
  member outside `target_dir`.

  Raises:
    ValueError: a member would escape `target_dir`; nothing is extracted.
  """
  if not os.path.isdir(target_dir):
    os.makedirs(target_dir)
  with tarfile.open(archive_path) as tar:
    check_tar_members(tar, target_dir)
    for member in tar.getmembers():
      dest = os.path.join(target_dir, member.name)
      if not _within(target_dir, os.path.dirname(dest) or target_dir):
        raise ValueError('Refusing archive member %r: its directory resolves '
                         'outside %s' % (member.name, target_dir))
      tar.extract(member, target_dir, set_attrs=False)


# Exactly the globals a CIFAR python batch (a numpy array in a dict) needs.
_SAFE_PICKLE_GLOBALS = frozenset([
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy.core.multiarray', 'scalar'),
    # The same functions as numpy 2 names them (pickles written by numpy 2).
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', 'scalar'),
    ('numpy', 'ndarray'),
    ('numpy', 'dtype'),
    # Python 3 pickles of bytes with protocol < 3 go through _codecs.encode.
    ('_codecs', 'encode'),
])


class RestrictedUnpickler(pickle.Unpickler):
  """An unpickler that refuses every global outside `_SAFE_PICKLE_GLOBALS`.

  A pickle runs code by naming a callable (e.g. os.system) as a global; with
  this, such a pickle fails before anything is called.
  """

  def find_class(self, module, name):
    if (module, name) in _SAFE_PICKLE_GLOBALS:
      return super(RestrictedUnpickler, self).find_class(module, name)
    raise pickle.UnpicklingError(
        'Refusing to load global %s.%s from a pickle; allowed: %s' %
        (module, name, ', '.join(sorted('%s.%s' % g
                                        for g in _SAFE_PICKLE_GLOBALS))))


def safe_unpickle(path):
  """Loads a (Python 2 or 3) pickle with `RestrictedUnpickler`.

  Raises:
    ValueError: naming the file, if the pickle references a forbidden global.
  """
  with open(path, 'rb') as f:
    try:
      return RestrictedUnpickler(f, encoding='bytes').load()
    except pickle.UnpicklingError as e:
      raise ValueError('Unsafe or corrupt pickle %s: %s' % (path, e))
