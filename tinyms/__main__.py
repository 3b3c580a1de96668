"""``python -m tinyms``: the TinyMS command line."""
from .cli import main

raise SystemExit(main())
