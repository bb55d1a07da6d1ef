"""Test helpers for datasets: a local HTTP server, tiny records and archives.

Reusable by any test that needs records on disk (e.g. training smoke tests):

    from tests import dataset_testutil as dtu

    dtu.write_image_records(path, images, labels)       # tiny TFRecord file
    with dtu.LocalHTTPServer({'a.tgz': data}) as server:
      cifar10.run(out_dir, mirror=server.url)

The server binds 127.0.0.1 on a free port, supports HTTP Range requests
(resume), and can cut a response short once to simulate a dropped download.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import gzip
import http.server
import io
import os
import pickle
import socketserver
import struct
import tarfile
import threading

import numpy as np


class LocalHTTPServer(object):
  """Serves in-memory files on 127.0.0.1; use as a context manager.

  Attributes:
    url: 'http://127.0.0.1:PORT/' (with the trailing slash --mirror wants).
    requests: list of (path, Range header or None), one per GET.
  """

  def __init__(self, files, support_range=True, truncate_once=None):
    """Args:
      files: dict name -> bytes served at /name.
      support_range: honour `Range: bytes=N-` with 206 (else always 200).
      truncate_once: dict name -> byte count: the first GET of that file
        announces the full Content-Length but sends only that many bytes.
    """
    self.files = dict(files)
    self.support_range = support_range
    self.truncate_once = dict(truncate_once or {})
    self.requests = []
    self._server = None
    self._thread = None

  def _handler(self):
    outer = self

    class Handler(http.server.BaseHTTPRequestHandler):

      def log_message(self, *args):  # Keep test output clean.
        pass

      def do_GET(self):  # pylint: disable=invalid-name
        name = self.path.lstrip('/')
        range_header = self.headers.get('Range')
        outer.requests.append((name, range_header))
        if name not in outer.files:
          self.send_error(404)
          return
        data = outer.files[name]
        start = 0
        if range_header and outer.support_range:
          start = int(range_header.split('=')[1].split('-')[0])
          if start >= len(data):
            self.send_error(416)
            return
          self.send_response(206)
          self.send_header('Content-Range', 'bytes %d-%d/%d' %
                           (start, len(data) - 1, len(data)))
        else:
          self.send_response(200)
        body = data[start:]
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        cut = outer.truncate_once.pop(name, None)
        self.wfile.write(body if cut is None else body[:cut])
        if cut is not None:
          self.close_connection = True

    return Handler

  def __enter__(self):
    socketserver.TCPServer.allow_reuse_address = True
    self._server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                   self._handler())
    self._thread = threading.Thread(target=self._server.serve_forever,
                                    daemon=True)
    self._thread.start()
    return self

  @property
  def url(self):
    return 'http://127.0.0.1:%d/' % self._server.server_address[1]

  def __exit__(self, *exc):
    self._server.shutdown()
    self._server.server_close()
    self._thread.join()
    return False


# ---------------------------------------------------------------------------
# Records.
# ---------------------------------------------------------------------------


def encode_png(image):
  from PIL import Image  # pylint: disable=g-import-not-at-top
  image = np.asarray(image, np.uint8)
  if image.ndim == 3 and image.shape[2] == 1:
    image = image[:, :, 0]
  buf = io.BytesIO()
  Image.fromarray(image).save(buf, format='PNG')
  return buf.getvalue()


def encode_jpeg(image, mode=None, quality=95, subsampling=-1):
  """JPEG bytes of a uint8 RGB array; mode='CMYK' or 'L' converts first.

  subsampling=0 (4:4:4) keeps decoders from disagreeing on chroma upsampling.
  """
  from PIL import Image  # pylint: disable=g-import-not-at-top
  pil = Image.fromarray(np.asarray(image, np.uint8))
  if mode:
    pil = pil.convert(mode)
  buf = io.BytesIO()
  pil.save(buf, format='JPEG', quality=quality, subsampling=subsampling)
  return buf.getvalue()


def image_example(encoded, label, fmt=b'png', height=0, width=0):
  """A serialized tf.train.Example with Slim's image keys."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  feature = {
      'image/encoded': tf.train.Feature(
          bytes_list=tf.train.BytesList(value=[encoded])),
      'image/format': tf.train.Feature(bytes_list=tf.train.BytesList(
          value=[fmt])),
      'image/class/label': tf.train.Feature(
          int64_list=tf.train.Int64List(value=[int(label)])),
      'image/height': tf.train.Feature(
          int64_list=tf.train.Int64List(value=[int(height)])),
      'image/width': tf.train.Feature(
          int64_list=tf.train.Int64List(value=[int(width)])),
  }
  return tf.train.Example(features=tf.train.Features(
      feature=feature)).SerializeToString()


def write_records(path, serialized):
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  with tf.io.TFRecordWriter(path) as writer:
    for s in serialized:
      writer.write(s)


def write_image_records(path, images, labels):
  """Writes uint8 images [N, H, W, C] as PNG records with the given labels."""
  write_records(path, [
      image_example(encode_png(im), lb, b'png', im.shape[0], im.shape[1])
      for im, lb in zip(images, labels)])


def all_batches(dataset, max_batches=None):
  """Every element of `dataset` (a `tf.data.Dataset` of the default graph).

  Runs one pass in a new session, stopping at the end of the data or after
  `max_batches` elements; returns the list of evaluated elements.
  """
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  out = []
  nxt = tf.data.make_one_shot_iterator(dataset).get_next()
  with tf.Session() as sess:
    while max_batches is None or len(out) < max_batches:
      try:
        out.append(sess.run(nxt))
      except tf.errors.OutOfRangeError:
        break
  return out


def read_records(path):
  """Returns [(image uint8 array, label, format)] from a TFRecord file, using
  tf.data.TFRecordDataset and PIL only (no code under test)."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  from PIL import Image  # pylint: disable=g-import-not-at-top
  out = []
  with tf.Graph().as_default():
    nxt = tf.data.make_one_shot_iterator(
        tf.data.TFRecordDataset(path)).get_next()
    with tf.Session() as sess:
      while True:
        try:
          raw = sess.run(nxt)
        except tf.errors.OutOfRangeError:
          break
        ex = tf.train.Example.FromString(raw).features.feature
        image = np.asarray(Image.open(io.BytesIO(
            ex['image/encoded'].bytes_list.value[0])))
        out.append((image, ex['image/class/label'].int64_list.value[0],
                    ex['image/format'].bytes_list.value[0]))
  return out


# ---------------------------------------------------------------------------
# Upstream archive layouts.
# ---------------------------------------------------------------------------


def tar_bytes(members, mode='w:gz'):
  """A tarball from a list of (name, bytes) files, ('name', None) dirs, or
  tarfile.TarInfo objects (for links)."""
  buf = io.BytesIO()
  with tarfile.open(fileobj=buf, mode=mode) as tar:
    for member in members:
      if isinstance(member, tarfile.TarInfo):
        tar.addfile(member)
        continue
      name, data = member
      info = tarfile.TarInfo(name)
      if data is None:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
      else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
  return buf.getvalue()


def cifar_batch_pickle(images, labels):
  """A CIFAR python batch: dict with bytes keys, data N x 3072 channel-major."""
  data = np.asarray(images, np.uint8).transpose(0, 3, 1, 2).reshape(
      len(images), -1)
  return pickle.dumps({b'batch_label': b'test batch', b'labels': list(labels),
                       b'data': data,
                       b'filenames': [b'%d.png' % i
                                      for i in range(len(labels))]},
                      protocol=2)


def cifar_tarball(splits):
  """cifar-10-python.tar.gz bytes; splits: batch name -> (images, labels)."""
  members = [('cifar-10-batches-py', None)]
  for name, (images, labels) in sorted(splits.items()):
    members.append(('cifar-10-batches-py/' + name,
                    cifar_batch_pickle(images, labels)))
  members.append(('cifar-10-batches-py/batches.meta', pickle.dumps({})))
  return tar_bytes(members)


def mnist_files(images, labels, prefix):
  """Gzipped IDX files {'<prefix>-images-idx3-ubyte.gz': bytes,
  '<prefix>-labels-idx1-ubyte.gz': bytes}."""
  images = np.asarray(images, np.uint8)
  n, rows, cols = images.shape
  img = struct.pack('>IIII', 2051, n, rows, cols) + images.tobytes()
  lab = struct.pack('>II', 2049, n) + np.asarray(labels, np.uint8).tobytes()
  return {'%s-images-idx3-ubyte.gz' % prefix: gzip.compress(img),
          '%s-labels-idx1-ubyte.gz' % prefix: gzip.compress(lab)}


def random_images(n, height, width, channels=3, seed=0):
  rng = np.random.RandomState(seed)
  shape = (n, height, width) + ((channels,) if channels else ())
  return rng.randint(0, 256, size=shape).astype(np.uint8)


def files_under(root):
  """Sorted relative paths of all files and links under root."""
  out = []
  for dirpath, _, files in os.walk(root):
    out.extend(os.path.relpath(os.path.join(dirpath, f), root) for f in files)
  return sorted(out)
