#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sets up a machine for the lab, idempotently (what `make setup`, and so `make lab`, `make test`
# and `make bench`, run first):
#   1. system tools: QEMU, the C toolchain, gdb, graphviz, Python with venv. Missing Debian/Ubuntu
#      packages are installed when run as root, and named (with the apt-get line) when not;
#   2. the project virtual environment .venv/ with `pip install -e '.[lab,test]'`, redone only
#      when pyproject.toml changes (a stamp file in .venv/ records the last install).
# Prints one line when there is nothing to do. Exits non-zero with a message saying what to do
# when something is missing and cannot be installed.
#
# Environment: PYTHON (interpreter for the venv, default python3), VENV (default .venv),
# LAB_EXTRAS (pip extras, default lab,test).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
LAB_EXTRAS=${LAB_EXTRAS:-lab,test}

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# ---- 1. system tools ------------------------------------------------------------------------
# "command package why" for each tool the lab runs. Each package is Debian's and Ubuntu's name.
REQUIRED_TOOLS=(
  "qemu-system-x86_64 qemu-system-x86 boots-the-kernel"
  "qemu-img qemu-utils disk-images"
  "gcc gcc builds-the-kernel-and-apps"
  "make make builds-the-kernel"
  "ld binutils links-the-kernel"
  "objcopy binutils builds-the-kernel"
  "readelf binutils inspects-ELF-images"
  "nm binutils kernel-symbol-table"
  "dot graphviz draws-diagrams"
  "gdb gdb the-debugger-lessons"
)
OPTIONAL_TOOLS=(
  "cpio cpio inspects-boot-archives"
  "busybox busybox-static the-Linux-guest's-initramfs"
  "curl curl a-real-HTTP-client-for-the-network-tests"
  "nc netcat-openbsd a-real-TCP-client-for-the-network-tests"
  "redis-cli redis-tools real-Redis-clients-for-the-kvstore-tests"
  "redis-benchmark redis-tools the-RESP-benchmark-(make-bench)"
  "wrk wrk the-HTTP-benchmark-(make-bench)"
  "ab apache2-utils the-HTTP-benchmark-with-ab-(make-bench)"
  "chromium chromium the-browser-test-(tests/test_browser.py)"
  "clang clang the-loader-fuzzers-(make-fuzz)"
)
# (The Linux guest's kernel is no package of this machine: labkit fetches Debian's cloud kernel
# with `apt-get download` when a lesson or `make bench` first needs it, into images/linux-guest/.
# A busybox that is not static is fine here: labkit then fetches busybox-static the same way.)

missing_required=()   # packages without which the lab cannot run
missing_optional=()   # packages that are installed when we can, but do not block

add_missing() {       # add_missing LIST PACKAGE: append PACKAGE to array LIST unless present
  local -n list=$1
  local p
  for p in "${list[@]+"${list[@]}"}"; do [ "$p" = "$2" ] && return 0; done
  list+=("$2")
}

check_system() {
  missing_required=()
  missing_optional=()
  local entry tool pkg
  for entry in "${REQUIRED_TOOLS[@]}"; do
    read -r tool pkg _ <<<"$entry"
    command -v "$tool" >/dev/null 2>&1 || add_missing missing_required "$pkg"
  done
  for entry in "${OPTIONAL_TOOLS[@]}"; do
    read -r tool pkg _ <<<"$entry"
    command -v "$tool" >/dev/null 2>&1 || add_missing missing_optional "$pkg"
  done

  # The apps also build as static Linux programs: that needs the C library's headers and libc.a
  # (libc6-dev), which `gcc` only recommends and so does not bring in with --no-install-recommends.
  if command -v gcc >/dev/null 2>&1; then
    local probe
    probe=$(mktemp -d)
    printf '#include <stdio.h>\nint main(void) { return puts("") < 0; }\n' >"$probe/p.c"
    gcc -static -o "$probe/p" "$probe/p.c" >/dev/null 2>&1 || add_missing missing_required libc6-dev
    rm -rf "$probe"
  else
    add_missing missing_required libc6-dev
  fi

  # make fuzz and its replay test link libFuzzer and the sanitizers' runtimes, which Debian
  # ships apart from clang (libclang-rt-dev, a recommendation only).
  if command -v clang >/dev/null 2>&1; then
    local fprobe
    fprobe=$(mktemp -d)
    printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n > 9; }\n' >"$fprobe/f.c"
    clang -fsanitize=fuzzer,address,undefined -o "$fprobe/f" "$fprobe/f.c" >/dev/null 2>&1 ||
      add_missing missing_optional libclang-rt-dev
    rm -rf "$fprobe"
  else
    add_missing missing_optional libclang-rt-dev
  fi

  # Python: the interpreter, its venv module (ensurepip is what Debian splits out into
  # python3-venv) and, optionally, its headers for any package that has to build from source.
  if ! command -v "$PYTHON" >/dev/null 2>&1; then
    add_missing missing_required python3
    add_missing missing_required python3-venv
    add_missing missing_optional python3-dev
  else
    "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1 || add_missing missing_required python3-venv
    "$PYTHON" - >/dev/null 2>&1 <<'PY' || add_missing missing_optional python3-dev
import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))
PY
  fi
}

install_packages() {  # install_packages PKG...: apt-get as root, non-interactive
  say "installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" </dev/null
}

# The optional packages this distribution has (Ubuntu, for one, has no `chromium` package but
# a snap wrapper): one unknown name would fail the whole apt-get install. Call after update.
available_optional() {
  local p
  for p in "${missing_optional[@]+"${missing_optional[@]}"}"; do
    if apt-cache show "$p" >/dev/null 2>&1; then printf '%s\n' "$p"
    else say "optional package $p is not in this distribution's archive: skipped" >&2; fi
  done
}

check_system
missing_all=("${missing_required[@]+"${missing_required[@]}"}" "${missing_optional[@]+"${missing_optional[@]}"}")
if [ ${#missing_all[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    [ ${#missing_optional[@]} -gt 0 ] && apt-get update -qq
    mapfile -t optional_here < <(available_optional)
    to_install=("${missing_required[@]+"${missing_required[@]}"}"
                "${optional_here[@]+"${optional_here[@]}"}")
    [ ${#to_install[@]} -gt 0 ] && install_packages "${to_install[@]}"
    check_system
    if [ ${#missing_required[@]} -gt 0 ]; then
      die "still missing after apt-get install: ${missing_required[*]} (is this Debian or Ubuntu?)"
    fi
  elif [ ${#missing_required[@]} -gt 0 ]; then
    say "missing system packages: ${missing_required[*]}"
    [ ${#missing_optional[@]} -gt 0 ] && say "missing optional packages: ${missing_optional[*]}"
    if command -v apt-get >/dev/null 2>&1; then
      say "install them (as root) with:"
      printf '\n    sudo apt-get install -y --no-install-recommends %s\n\n' "${missing_all[*]}"
      say "then run this again (make setup)."
    else
      say "this is not a Debian/Ubuntu machine: install the equivalents of these packages"
      say "(QEMU for x86-64, gcc, make, binutils, graphviz, gdb, Python 3 with venv), then run this again."
    fi
    exit 1
  else
    say "optional packages not installed: ${missing_optional[*]} (sudo apt-get install ${missing_optional[*]})"
  fi
fi

# ---- 2. the project virtual environment -------------------------------------------------------
if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  say "$VENV exists but its python does not run (moved, or its interpreter is gone): recreating it"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  say "creating the virtual environment $VENV ($("$PYTHON" --version 2>&1))"
  "$PYTHON" -m venv "$VENV" || die "'$PYTHON -m venv $VENV' failed: install python3-venv"
fi

if [ ! -f pyproject.toml ]; then
  say "note: no pyproject.toml yet, so no Python packages to install into $VENV (skipped)"
  exit 0
fi

# The stamp names what was installed: pyproject.toml's content and the extras asked for.
hash=$( { cat pyproject.toml; printf 'extras=%s\n' "$LAB_EXTRAS"; } | sha256sum | cut -c1-16)
stamp="$VENV/.installed-$hash"
if [ -f "$stamp" ]; then
  say "ok: system tools present, $VENV up to date"
  exit 0
fi

say "installing labkit and its Python dependencies into $VENV: pip install -e '.[$LAB_EXTRAS]' (about a minute)"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off
if ! "$VENV/bin/python" -m pip install --quiet -e ".[$LAB_EXTRAS]"; then
  die "pip install into $VENV failed (see above); fix it and run 'make setup' again"
fi
rm -f "$VENV"/.installed-*
printf 'pip install -e .[%s] for pyproject.toml sha256 %s\n' "$LAB_EXTRAS" "$hash" >"$stamp"
say "done: $VENV is ready"
