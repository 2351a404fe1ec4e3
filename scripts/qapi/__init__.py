# SPDX-License-Identifier: GPL-2.0-or-later
"""Tandem's QAPI schema compiler: schema files in, C and Markdown out."""
