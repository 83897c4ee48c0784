"""hpatch: carry documented Hadoop fixes onto a release, and prove them."""

__version__ = "0.1.0"
