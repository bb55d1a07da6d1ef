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
* Archives from the network are untrusted: only regular files and
  directories inside the target directory are extracted (links and special
  files are refused), and pickles are read with an unpickler that
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
import fnmatch
import glob
import hashlib
import io
import json
import os
import pickle
import re
import shutil
import struct
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


def bytes_list_feature(values):
  """TF-Slim's name: a bytes `tf.train.Feature` from a list of bytes/str."""
  return bytes_feature(list(values))


def float_list_feature(values):
  """TF-Slim's name: a float `tf.train.Feature` from a list of floats."""
  return float_feature(list(values))


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


def image_file_to_example(path, label, format_name=None):
  """Reads one image file into a serialized record, or None if undecodable.

  The file is checked and, where needed, re-encoded by `prepare_image`; an
  undecodable one is logged as skipped (the caller counts it).

  Args:
    path: the image file.
    label: its integer class id.
    format_name: optional `fn(fmt) -> fmt` for `image/format` (Slim's flowers
      records say b'jpg' where the decoder says b'jpeg').

  Returns:
    Serialized `tf.train.Example` bytes, or None.
  """
  with open(path, 'rb') as f:
    data = f.read()
  try:
    data, fmt, height, width, note = prepare_image(data)
  except BadImageError as e:
    logging.warning('Skipping %s: %s', path, e)
    return None
  if note:
    logging.info('%s: %s', path, note)
  if format_name:
    fmt = format_name(fmt)
  return image_to_tfexample(data, fmt, height, width,
                            label).SerializeToString()


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


def count_records(path):
  """Counts the records of a TFRecord file from its framing, or returns None.

  Reads only the 12-byte headers (length + its CRC) and seeks over the data,
  so it is fast on large shards. None if the file is missing or does not
  end exactly after a whole record (truncated).
  """
  try:
    size = os.path.getsize(path)
    count, offset = 0, 0
    with open(path, 'rb') as f:
      while offset < size:
        header = f.read(12)
        if len(header) < 12:
          return None
        length = struct.unpack('<Q', header[:8])[0]
        offset += 12 + length + 4
        if offset > size:
          return None
        f.seek(offset)
        count += 1
  except OSError:
    return None
  return count


class Progress(object):
  """Logs 'done of total' lines at most every `every_secs` (and at the end).

  Attributes:
    last_line: the last line logged (for tests).
  """

  def __init__(self, what, total_units, total_items, unit='shards',
               items='images', every_secs=30.0, clock=None, log_fn=None):
    import time  # pylint: disable=g-import-not-at-top
    self._clock = clock or time.time
    self._log = log_fn or logging.info
    self._what, self._unit, self._items = what, unit, items
    self._total_units, self._total_items = total_units, total_items
    self._start = self._last = self._clock()
    self._every = every_secs
    self.units = self.items = 0
    self._items_at_start = 0
    self.last_line = None

  def start_from(self, units, items):
    """Counts work already done (kept from an earlier run) as done."""
    self.units, self.items = units, items
    self._items_at_start = items

  def add(self, units=0, items=0, force=False):
    self.units += units
    self.items += items
    self.maybe_log(force=force)

  def maybe_log(self, force=False):
    now = self._clock()
    if not force and now - self._last < self._every:
      return
    self._last = now
    elapsed = max(now - self._start, 1e-9)
    rate = (self.items - self._items_at_start) / elapsed
    left = self._total_items - self.items
    eta = ('%.0f s' % (left / rate)) if rate > 0 else 'unknown'
    self.last_line = ('%s: %d/%d %s, %d/%d %s done, %.1f %s/s, time left %s'
                      % (self._what, self.units, self._total_units,
                         self._unit, self.items, self._total_items,
                         self._items, rate, self._items, eta))
    self._log(self.last_line)


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
  """Whether `dataset_dir` holds a label file (`labels.txt`)."""
  return os.path.isfile(os.path.join(dataset_dir, filename))


def read_label_file(dataset_dir, filename=LABELS_FILENAME):
  """Reads `labels.txt` (lines `id:name`) into a dict id -> name."""
  labels_to_class_names = {}
  path = os.path.join(dataset_dir, filename)
  with open(path) as f:
    for number, line in enumerate(f, 1):
      line = line.rstrip('\n')
      if not line:
        continue
      label, sep, name = line.partition(':')
      try:
        labels_to_class_names[int(label)] = name
      except ValueError:
        sep = ''
      if not sep:
        raise ValueError('%s line %d is %r, not "id:name"; re-run the '
                         'conversion or fix the file' % (path, number, line))
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
    try:
      info = json.load(f)
    except ValueError as e:
      raise ValueError('%s is not valid JSON (%s); re-run the conversion' %
                       (path, e))
  if not isinstance(info, dict) or not isinstance(info.get('splits', {}),
                                                  dict):
    raise ValueError('%s does not describe a dataset (no "splits" mapping); '
                     're-run the conversion' % path)
  return info


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


# Slim's ImageNet shards are 'train-00001-of-01024', its flowers and ours
# 'flowers_train_00001-of-00005.tfrecord': the separator is kept in the prefix.
_SHARD_RE = re.compile(r'^(.*[-_])(\d{5})-of-(\d{5})([^/]*)$')


def incomplete_conversion(files, dataset_dir=None, file_pattern=None):
  """Says why `files` look like an unfinished conversion, or returns None.

  Args:
    files: the record files of one split.
    dataset_dir: their directory (for the temporaries and the markers), or
      None to check only the shard sets.
    file_pattern: the split's glob, to match leftover temporaries.

  Returns:
    None if complete, else a short reason naming the missing file(s).
    Sharded splits also need `metadata.json` (or, as Slim's converters
    write it last, `labels.txt`) in `dataset_dir`.
  """
  sets = {}
  for path in files:
    match = _SHARD_RE.match(path)
    if match:
      prefix, shard, num, suffix = match.groups()
      sets.setdefault((prefix, num, suffix), set()).add(int(shard))
  for (prefix, num, suffix), have in sorted(sets.items()):
    missing = sorted(set(range(int(num))) - have)
    if missing:
      return '%d of its %s shards are missing, first %s%05d-of-%s%s' % (
          len(missing), int(num), prefix, missing[0], num, suffix)
  if not dataset_dir:
    return None
  if file_pattern:
    pattern = os.path.basename(file_pattern)
    for tmp in glob.glob(os.path.join(dataset_dir, '.*' + TMP_SUFFIX)):
      name = os.path.basename(tmp)[1:-len(TMP_SUFFIX)]
      if fnmatch.fnmatch(name, pattern):
        return 'a shard was being written when the converter stopped (%s)' % (
            tmp)
  # Sharded splits are written one shard at a time: only the marker says
  # the last one was. (A single-file split is itself written atomically.)
  if sets and not (os.path.isfile(os.path.join(dataset_dir,
                                               METADATA_FILENAME)) or
                   has_labels(dataset_dir)):
    return ('%s, which the converter writes last, is missing from %s (for '
            'complete records from another tool, add %s with one "id:name" '
            'line per class)' % (METADATA_FILENAME, dataset_dir,
                                 LABELS_FILENAME))
  return None


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
  """Raises ValueError naming the first member that is not safe to extract.

  Only regular files and directories are admitted: the datasets we convert
  contain no links, and a link (symbolic or hard, to an absolute or relative
  target, or through an earlier link whose text looks harmless) is how a
  tampered archive writes outside `target_dir`. Also refused: absolute names,
  names with a `..` component, devices and FIFOs.
  """
  for member in tar.getmembers():
    name = member.name
    parts = name.replace('\\', '/').split('/')
    if name.startswith(('/', '\\')) or os.path.isabs(name) or '..' in parts:
      raise ValueError('Refusing archive member %r: absolute path or ".." '
                       'component' % name)
    if member.issym() or member.islnk():
      raise ValueError('Refusing archive member %r: it is a %s link (to %r); '
                       'dataset archives hold only files and directories' %
                       (name, 'symbolic' if member.issym() else 'hard',
                        member.linkname))
    if not (member.isfile() or member.isdir()):
      raise ValueError('Refusing archive member %r: not a regular file or '
                       'directory (device, FIFO or other special file)' % name)
    if not _within(target_dir, os.path.join(target_dir, name)):
      raise ValueError('Refusing archive member %r: it resolves outside %s' %
                       (name, target_dir))


def safe_extract_tar(archive_path, target_dir):
  """Extracts a tar archive of regular files and directories only.

  Every member is checked with `check_tar_members` before anything is
  written; at extraction each destination is resolved again against the real
  filesystem (`os.path.realpath`), so nothing already on disk can redirect a
  member outside `target_dir`. On any refusal the partial extraction is
  removed (`target_dir` itself if this call created it).

  Raises:
    ValueError: naming a member that is a link or special file, or would
      land outside `target_dir`.
  """
  created = not os.path.isdir(target_dir)
  if created:
    os.makedirs(target_dir)
  extracted = []
  try:
    with tarfile.open(archive_path) as tar:
      check_tar_members(tar, target_dir)
      for member in tar.getmembers():
        dest = os.path.join(target_dir, member.name)
        if (os.path.islink(dest) or not _within(target_dir, dest) or
            not _within(target_dir, os.path.dirname(dest) or target_dir)):
          raise ValueError('Refusing archive member %r: it resolves outside '
                           '%s' % (member.name, target_dir))
        tar.extract(member, target_dir, set_attrs=False)
        extracted.append(dest)
  except BaseException:
    if created:
      shutil.rmtree(target_dir, ignore_errors=True)
    else:
      for path in reversed(extracted):
        if os.path.isdir(path) and not os.path.islink(path):
          shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
          os.remove(path)
    raise


def download_url(url, dataset_dir):
  """TF-Slim's name: downloads `url` into `dataset_dir`; returns the path.

  The download is resumable and checked against Content-Length (`download`).
  """
  return download(url, dataset_dir)


def download_and_uncompress_tarball(tarball_url, dataset_dir):
  """TF-Slim's helper: downloads a tarball and extracts it into `dataset_dir`.

  Members that would land outside `dataset_dir` are refused
  (`safe_extract_tar`).

  Args:
    tarball_url: URL of a (possibly compressed) tar archive.
    dataset_dir: where the archive is saved and extracted.
  """
  safe_extract_tar(download(tarball_url, dataset_dir), dataset_dir)


def open_sharded_output_tfrecords(exit_stack, base_path, num_shards):
  """TF-Slim's helper: opens `num_shards` writers `<base>-0000i-of-0000n`.

  Each writer writes to a temporary name and is renamed when `exit_stack`
  closes it without error.

  Args:
    exit_stack: a `contextlib.ExitStack` that closes the writers.
    base_path: path prefix of the shards.
    num_shards: number of shards.

  Returns:
    A list of `num_shards` writers (`.write(serialized_example)`).
  """
  return [
      exit_stack.enter_context(AtomicTFRecordWriter(
          '%s-%05d-of-%05d' % (base_path, idx, num_shards)))
      for idx in range(num_shards)
  ]


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
