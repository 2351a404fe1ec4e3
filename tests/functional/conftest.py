# SPDX-License-Identifier: GPL-2.0-or-later
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tandem  # noqa: E402


def pytest_sessionstart(session):
    for path in (tandem.TANDEM, tandem.GUEST):
        if not os.path.exists(path):
            raise SystemExit('%s is missing: build first (make)' % path)
