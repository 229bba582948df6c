# SPDX-License-Identifier: MIT
"""Lesson logic promoted out of notebook cells: plain functions returning dataclasses.

=====================  =============================================================
module                 what it answers
=====================  =============================================================
``building``           build the kernel in a scratch copy, step by step (lesson 00)
``anatomy``            how big the unikernel image is next to a Linux kernel (00)
``timeline``           where the boot's instructions go, milestone by milestone (00)
``linking``            the app's imports, their GOT slots and kernel targets (01)
``syscalls``           what a "system call" costs, in instructions (01)
``stepping``           debugger recipes: follow the linker, trace a call, source lines (01, 02)
``linux_guest``        whether a Linux guest is at hand, and the cited figures if not
``ring0``              control registers decoded; what the privileged app reports (02)
``gc``                 dirty bits against card marking, parsed and swept (02)
``netchannels``        a UDP burst, a malformed flood, drops by reason, HTTP (03)
``ballooning``         inflation timed, deflate-on-oom, a full heap squeezed (04)
=====================  =============================================================

Nothing here imports ipywidgets or draws; the views are in :mod:`labkit.widgets`.
"""
