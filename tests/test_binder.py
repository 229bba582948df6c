# SPDX-License-Identifier: MIT
"""Binder (repo2docker builds the image from ``binder/``) and the Binder budget.

What can be tested without repo2docker:

- ``binder/apt.txt``, ``binder/environment.yml`` and ``binder/postBuild`` are well-formed, and
  every Debian package ``apt.txt`` names exists (``apt-cache policy``; skipped without apt
  lists); ``apt.txt`` holds every package ``scripts/setup.sh`` requires;
- the environment files pin Python and the widget stack consistently with ``pyproject.toml``;
- ``postBuild`` runs as an unprivileged user in a fresh virtual environment and leaves a
  bootable image (slow: a full ``pip install`` and kernel build; only with ``LABKIT_SLOW=1``).

The budget (mybinder.org: 1-2 GB of RAM, one CPU, no KVM):

- a lesson's peak memory, its kernel plus every process under it (QEMU, the compiler), stays
  far below 2 GB, measured on the heaviest lesson pinned to one CPU;
- an idle guest halts: QEMU uses almost no CPU while the guest waits for work;
- the machines end with their notebook kernel, whether it is shut down or killed.

``python tests/test_binder.py`` prints the figures docs/instructors.md quotes: every lesson's
time and peak memory on one CPU and on all, the JupyterLab server's memory, and idle CPU.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
MIB = 1 << 20
BINDER_RAM = 2048 * MIB          # mybinder.org's upper limit per user
LESSON_BUDGET = 1024 * MIB       # a lesson's share: the server, the browser side and slack
IDLE_CPU = 0.05                  # of one core

psutil = pytest.importorskip("psutil")


# ------------------------------------------------------------------------ the files
def apt_packages() -> list[str]:
    """The package names of apt.txt, as repo2docker reads it (a '#' starts a comment)."""
    names = []
    for line in (BINDER / "apt.txt").read_text().splitlines():
        name = line.partition("#")[0].strip()
        if name:
            names.append(name)
    return names


def setup_required_packages() -> set[str]:
    """The Debian packages scripts/setup.sh requires (REQUIRED_TOOLS, plus libc6-dev)."""
    text = (ROOT / "scripts" / "setup.sh").read_text()
    block = re.search(r"REQUIRED_TOOLS=\((.*?)\n\)", text, re.S)
    assert block, "scripts/setup.sh has no REQUIRED_TOOLS list"
    packages = {m.group(2) for m in re.finditer(r'"(\S+) (\S+) [^"]*"', block.group(1))}
    return packages | {"libc6-dev"}


def test_apt_txt_is_well_formed():
    names = apt_packages()
    for name in names:     # repo2docker refuses anything but package names
        assert re.fullmatch(r"[a-z0-9][a-z0-9.+-]*", name), f"apt.txt: {name!r}"
    assert len(names) == len(set(names)), "apt.txt names a package twice"
    missing = setup_required_packages() - set(names)
    assert not missing, f"apt.txt lacks what scripts/setup.sh requires: {sorted(missing)}"


def _apt_lists() -> bool:
    lists = Path("/var/lib/apt/lists")
    return shutil.which("apt-cache") is not None and lists.is_dir() and any(
        p.name.endswith(("Packages", "Packages.lz4", "Packages.gz", "Packages.xz"))
        for p in lists.iterdir())


@pytest.mark.skipif(not _apt_lists(), reason="no apt package lists here (run apt-get update)")
def test_every_apt_package_exists():
    out = subprocess.run(["apt-cache", "policy", *apt_packages()], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "LC_ALL": "C"}).stdout
    candidates = dict(re.findall(r"^(\S+):\n(?:.*\n)*?\s+Candidate: (\S+)", out, re.M))
    absent = [n for n in apt_packages() if candidates.get(n, "(none)") == "(none)"]
    assert not absent, f"not in this machine's archive: {absent}"


def _yaml(path: Path) -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(path.read_text())


def _pyproject() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:   # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pins(env: dict) -> tuple[str, dict[str, str]]:
    python, pins = "", {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and dep.startswith("python="):
            python = dep.split("=", 1)[1]
        elif isinstance(dep, dict):
            for item in dep.get("pip", []):
                m = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", item)
                if m:
                    pins[m.group(1).lower()] = m.group(2)
    return python, pins


def test_environment_pins_agree_with_pyproject():
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    binder_python, pins = _pins(_yaml(BINDER / "environment.yml"))
    local_python, _ = _pins(_yaml(ROOT / "environment.yml"))
    project = _pyproject()["project"]
    assert binder_python and binder_python == local_python, (binder_python, local_python)
    assert SpecifierSet(project["requires-python"]).contains(f"{binder_python}.0")
    assert {"jupyterlab", "ipywidgets", "ipympl"} <= set(pins), \
        "binder/environment.yml must pin jupyterlab, ipywidgets and ipympl together"
    wanted = [Requirement(r) for r in project["dependencies"]]
    wanted += [Requirement(r) for r in project["optional-dependencies"]["lab"]]
    for req in wanted:
        name = req.name.lower()
        if name in pins:
            assert req.specifier.contains(pins[name], prereleases=True), \
                f"binder pins {name}=={pins[name]}, pyproject wants {req}"


def test_postbuild_is_an_unprivileged_bash_script():
    post = BINDER / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable"
    text = post.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and "SPDX-License-Identifier" in text
    assert "set -euo pipefail" in text
    code = "\n".join(line.partition("#")[0] for line in text.splitlines()[1:])
    assert not re.search(r"\b(sudo|su|apt-get|apt|dpkg)\b", code), \
        "postBuild runs as the unprivileged user: nothing in it may need root"
    subprocess.run(["bash", "-n", str(post)], check=True)


def _tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [f for f in out.stdout.decode().split("\0") if f and (ROOT / f).exists()]


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("LABKIT_SLOW") != "1",
                    reason="a full pip install and kernel build: set LABKIT_SLOW=1")
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run postBuild as another user")
def test_postbuild_as_a_user_in_a_fresh_venv():
    """What repo2docker does after apt.txt: the unprivileged user, a fresh environment whose
    python is first on PATH, postBuild from a clean checkout; then the image boots."""
    import pwd
    import tempfile

    user = pwd.getpwnam("nobody")
    top = Path(tempfile.mkdtemp(prefix="labkit-binder-"))   # pytest's own is root's alone
    top.chmod(0o755)
    try:
        _postbuild_as(user, top / "home")
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _postbuild_as(user, home: Path) -> None:
    repo = home / "repo"
    for name in _tracked_files():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, repo / name)
    subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(home)], check=True)
    env = {"HOME": str(home), "PATH": f"{home}/env/bin:/usr/local/bin:/usr/bin:/bin",
           "LANG": "C.UTF-8", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    as_user = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
               "--"]

    def run(*cmd: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run([*as_user, *cmd], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=timeout)

    python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or sys.executable
    venv = run(python, "-m", "venv", str(home / "env"))
    assert venv.returncode == 0, venv.stderr
    started = time.monotonic()
    build = run("bash", "binder/postBuild")
    took = time.monotonic() - started
    assert build.returncode == 0, (build.stdout + build.stderr)[-4000:]
    assert (repo / "images" / "kernel.elf").is_file()
    boot = run(str(home / "env" / "bin" / "labkit"), "run", "hello", "--", "3", timeout=120)
    assert boot.returncode == 3, boot.stdout + boot.stderr
    assert "Hello from the unikernel!" in boot.stdout
    print(f"postBuild as {user.pw_name} in a fresh venv: {took:.0f} s; hello booted")


# ------------------------------------------------------------------------ the budget
@dataclass
class Footprint:
    """A lesson's run: its time and the peak memory of its kernel and everything under it."""

    notebook: str
    seconds: float
    peak: int            # bytes: the kernel's RSS plus its descendants', at the worst moment
    peak_kernel: int
    peak_children: int
    most_qemus: int


def _tree_rss(pid: int) -> tuple[int, int, int]:
    """(kernel RSS, descendants' RSS, QEMUs running) of the process ``pid``."""
    top = psutil.Process(pid)
    own = top.memory_info().rss
    children, qemus = 0, 0
    for child in top.children(recursive=True):
        try:
            children += child.memory_info().rss
            qemus += child.name().startswith("qemu")
        except psutil.Error:
            pass
    return own, children, qemus


def measure_notebook(path: Path, one_cpu: bool = False, timeout: int = 60) -> Footprint:
    """Run a notebook with nbclient in a fresh kernel, sampling its process tree every 50 ms.
    ``one_cpu`` pins the kernel (and so QEMU and the compiler) to one CPU, as on Binder."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    peak = [0, 0, 0, 0]
    stop = threading.Event()
    with client.setup_kernel():
        pid = client.km.provisioner.pid
        if one_cpu:
            os.sched_setaffinity(pid, {min(os.sched_getaffinity(0))})

        def sample() -> None:
            while not stop.is_set():
                try:
                    own, children, qemus = _tree_rss(pid)
                except psutil.Error:
                    return
                peak[0] = max(peak[0], own + children)
                peak[1], peak[2] = max(peak[1], own), max(peak[2], children)
                peak[3] = max(peak[3], qemus)
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()
        try:
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
        finally:
            seconds = time.monotonic() - started
            stop.set()
            sampler.join()
    return Footprint(path.name, seconds, *peak)


@pytest.mark.boot
@pytest.mark.slow
def test_the_heaviest_lesson_fits_binder_on_one_cpu():
    """Lesson 04 runs two 256 MB guests: its kernel and everything under it stay within a
    lesson's share of Binder's 2 GB, and it runs on one CPU within the lessons' budget."""
    run = measure_notebook(ROOT / "notebooks" / "04-ballooning.ipynb", one_cpu=True)
    assert run.peak < LESSON_BUDGET, f"{run.peak / MIB:.0f} MiB at the peak"
    assert run.most_qemus >= 1
    assert run.seconds < 90, f"lesson 04 took {run.seconds:.0f} s on one CPU"


#: Guests that wait for work: (app and arguments, Machine options, the line that says ready).
IDLE_GUESTS = {
    "netecho": (("netecho",), {"net": "wire", "options": {"net": "channels"}}, "netecho:"),
    "memhog": (("memhog",), {"memory": "256M", "balloon": "on"}, "ready"),
}


def idle_cpu(seconds: float = 3.0, guest: str = "netecho") -> float:
    """QEMU's CPU use (share of one core) while a guest waits for work: netecho blocked in
    recvfrom (the kernel's idle thread halted), or memhog waiting for a command on COM1."""
    from labkit.machine import SyncMachine

    args, options, ready = IDLE_GUESTS[guest]
    with SyncMachine(*args, **options) as m:
        m.wait_for(ready, 20)
        time.sleep(0.5)
        proc = psutil.Process(m.pid)
        before, t0 = sum(proc.cpu_times()[:2]), time.monotonic()
        time.sleep(seconds)
        after, t1 = sum(proc.cpu_times()[:2]), time.monotonic()
    return (after - before) / (t1 - t0)


@pytest.mark.boot
@pytest.mark.parametrize("guest", ["netecho", "memhog"])
def test_an_idle_guest_halts(guest):
    """netecho blocks in recvfrom, memhog in a read of COM1 (woken by the UART's interrupt,
    not by polling): either way the idle thread halts the CPU."""
    share = idle_cpu(guest=guest)
    assert share < IDLE_CPU, f"an idle {guest} keeps QEMU {share:.1%} busy"


START_A_MACHINE = """\
import labkit
m = await labkit.Machine("netecho", net="wire", options={"net": "channels"}).start()
await m.console.wait_for("netecho:", 20)
print("qemu", m.pid)
"""


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.boot
@pytest.mark.parametrize("how", ["shutdown", "SIGKILL"])
def test_machines_end_with_their_kernel(tmp_path, how):
    """A notebook kernel starts a machine that would run forever; the kernel is shut down
    (JupyterLab's Shut Down Kernel) or killed (the server's OOM kill, a crash): no QEMU is
    left."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    out: list[str] = []
    try:
        kc.execute_interactive(START_A_MACHINE, timeout=60, output_hook=lambda msg: out.append(
            msg["content"].get("text", "")) if msg["msg_type"] == "stream" else None)
        m = re.search(r"qemu (\d+)", "".join(out))
        assert m, f"the machine did not start: {out}"
        qemu = int(m.group(1))
        assert not _gone(qemu)
        kernel = km.provisioner.pid
        if how == "SIGKILL":
            os.kill(kernel, signal.SIGKILL)
        else:
            km.shutdown_kernel(now=False)
        deadline = time.monotonic() + 10
        while not _gone(qemu) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(qemu), f"QEMU {qemu} outlived its kernel ({how})"
    finally:
        kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=True)


# ------------------------------------------------------------------------ the figures
def _server_rss() -> int:
    """The JupyterLab server's RSS once it has served the lab page."""
    import secrets
    import socket
    import tempfile
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    tmp = tempfile.mkdtemp(prefix="labkit-rss-")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": tmp, "JUPYTER_RUNTIME_DIR": tmp}
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", "--ip",
                             "127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
                             f"--ServerApp.root_dir={ROOT / 'notebooks'}", "--allow-root"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}",
                                       timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        time.sleep(1)
        return psutil.Process(proc.pid).memory_info().rss
    finally:
        proc.terminate()
        proc.wait(20)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    lessons = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    print(f"{os.cpu_count()} CPUs here; each lesson run in a fresh kernel (nbclient), its "
          "process tree sampled every 50 ms")
    print(f"{'lesson':<32} {'1 CPU s':>8} {'all s':>7} {'peak MiB':>9} {'kernel':>7} "
          f"{'under it':>9} {'QEMUs':>6}")
    worst = 0
    for path in lessons:
        one = measure_notebook(path, one_cpu=True)
        every = measure_notebook(path)
        peak = max(one, every, key=lambda f: f.peak)
        worst = max(worst, peak.peak)
        print(f"{path.name:<32} {one.seconds:8.1f} {every.seconds:7.1f} {peak.peak / MIB:9.0f} "
              f"{peak.peak_kernel / MIB:7.0f} {peak.peak_children / MIB:9.0f} "
              f"{peak.most_qemus:6d}")
    server = _server_rss()
    print(f"JupyterLab server after serving the lab page: {server / MIB:.0f} MiB")
    print(f"worst lesson + server: {(worst + server) / MIB:.0f} MiB of Binder's "
          f"{BINDER_RAM / MIB:.0f} MiB")
    print(f"idle guest, netecho waiting for a packet: QEMU at {idle_cpu(5.0):.1%} of one core")
    print(f"idle guest, memhog waiting for a command on COM1: QEMU at "
          f"{idle_cpu(5.0, 'memhog'):.1%} of one core")


if __name__ == "__main__":
    main()
