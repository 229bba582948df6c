# SPDX-License-Identifier: MIT
"""Checks of lesson 05-unikernel-vs-linux, under their lesson's name.

They are written in :mod:`labkit.exercises.linux`, next to the Linux guest they need; this
module gives them the name every lesson's checks have, so that ``labkit grade``, hidden
grading tests and :data:`labkit.exercises.CHECKS` reach them as ``lesson05.check_<name>``
like any other lesson's. Both names are the same functions.
"""

from __future__ import annotations

from . import linux as _linux
from .linux import *  # noqa: F403 - the checks, under this lesson's name

__all__ = list(_linux.__all__)
