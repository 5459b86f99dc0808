"""The public loaders, under the name chatlens has always given them: see :mod:`chatlens.load`.

:mod:`chatlens.load` is the package (fetching, columns, the cache's use); this module re-exports its public names,
so ``from chatlens.loaders import load_messages`` keeps working.
"""

from __future__ import annotations

from .load import *  # noqa: F403 - the facade is exactly the package's public names
from .load import __all__  # noqa: F401
