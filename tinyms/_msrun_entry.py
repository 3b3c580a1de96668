"""Private: the script msrun starts in each process of ``tinyms train --nproc N`` (``python <this file> train ...``).

Run as a script, Python puts this file's folder (the ``tinyms`` package itself) first on
``sys.path``, where its modules would shadow top-level ones; it is removed before anything
is imported.
"""

import os
import sys

if sys.path and os.path.abspath(sys.path[0] or os.curdir) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

from tinyms.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
