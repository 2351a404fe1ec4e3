# SPDX-License-Identifier: GPL-2.0-or-later
"""Package form of the QMP client: with the repository root on sys.path,
``from scripts.qmp import QMPClient`` works as well as ``from qmp import
QMPClient`` with scripts/qmp on sys.path."""
from .qmp import *  # noqa: F401,F403
from .qmp import __all__  # noqa: F401
