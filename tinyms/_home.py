"""Private helper: where TinyMS keeps downloaded datasets, samples and caches."""

import os

HOME_ENV = "TINYMS_HOME"


def tinyms_home():
    """Return TinyMS's data folder as an absolute path (it may not exist yet).

    ``$TINYMS_HOME`` when set and not empty, else ``~/.tinyms``. Datasets go to
    ``<home>/datasets``, bundled samples to ``<home>/samples`` and caches to ``<home>/cache``.

    Returns:
        str: the absolute folder path, ``~`` expanded.

    Example:
        >>> from tinyms._home import tinyms_home
        >>> os.path.join(tinyms_home(), "datasets")  # doctest: +SKIP
        '/home/me/.tinyms/datasets'
    """
    home = os.environ.get(HOME_ENV) or os.path.join("~", ".tinyms")
    return os.path.abspath(os.path.expanduser(home))
