"""Entry point of every TinyMS serving process, run by path: ``python _boot.py ROLE CONFIG_JSON``.

Roles: ``supervisor`` and ``front`` never load MindSpore (``import tinyms`` is light: it only
sets MindSpore's environment defaults, and MindSpore loads on first use of a name that needs
it); ``executor`` runs MindSpore models.
"""

import json
import logging
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_PACKAGE_DIR = os.path.dirname(_HERE)
_SOURCE_ROOT = os.path.dirname(_PACKAGE_DIR)


def _prepare_path():
    # Running a script puts its own folder first on sys.path, which would make the serving
    # modules importable under top-level names; serve the package from its real root instead.
    while sys.path and os.path.abspath(sys.path[0] or os.getcwd()) == _HERE:
        del sys.path[0]
    if _SOURCE_ROOT not in sys.path:
        sys.path.insert(0, _SOURCE_ROOT)


def main(argv):
    role, config = argv[1], json.loads(argv[2])
    _prepare_path()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"%(asctime)s [{role} %(process)d] %(levelname)s %(name)s: %(message)s")
    import tinyms  # noqa: F401 - sets GLOG_v / ONEDNN_MAX_CPU_ISA before MindSpore can load
    if role == "executor":
        from tinyms.serving import _executor as module
    elif role == "front":
        from tinyms.serving import _front as module
    elif role == "supervisor":
        from tinyms.serving import _supervisor as module
    else:
        raise SystemExit(f"unknown serving role {role!r}")
    return module.main(config)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
