#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""QAPI schema compiler for Tandem; see docs/devel/qapi.md."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True

from qapi.main import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
