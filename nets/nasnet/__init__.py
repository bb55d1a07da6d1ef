"""NASNet-A [1] and PNASNet-5 [2] image classifiers, as in TF-Slim.

`nasnet_utils` holds the cell machinery (a cell is an operation table run by
one base class), `nasnet` the NASNet-A models (CIFAR, Mobile, Large) and
`pnasnet` the PNASNet-5 models (Mobile, Large).

References:
  [1] Zoph et al., Learning Transferable Architectures for Scalable Image
      Recognition, arXiv:1707.07012.
  [2] Liu et al., Progressive Neural Architecture Search, arXiv:1712.00559.
"""
