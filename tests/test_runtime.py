"""Importing playground changes nothing in the process; the entry points set it up, once, explicitly.

Each check runs in a fresh interpreter: this test process has been set up already (conftest does what
the entry points do), and an import's side effect shows only the first time.
"""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# What a process looks like, printed as JSON: its environment, pyqtgraph's global options, every BLAS
# library's thread count, and whether a fresh 12 MB block is mapped on its own (glibc's default) or
# comes from the heap (after keep_freed_memory raised the mmap threshold to 16 MB).
PROBE = """
def state(malloc=True):
    import ctypes, os
    from threadpoolctl import threadpool_info

    class Mallinfo2(ctypes.Structure):  # glibc's struct mallinfo2; hblks counts the mmapped blocks
        _fields_ = [(name, ctypes.c_size_t) for name in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.mallinfo2.restype = Mallinfo2
    mapped = None
    if malloc:  # once a process: freeing a mapped block raises glibc's (dynamic) threshold to its size
        before = libc.mallinfo2().hblks
        block = libc.malloc(12 * 2**20)
        mapped = libc.mallinfo2().hblks > before
        libc.free(block)
    return {"environ": dict(os.environ), "pyqtgraph": dict(pyqtgraph.CONFIG_OPTIONS), "mapped": mapped,
            "blas_threads": [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]}
"""


def clean_env() -> dict:
    env = dict(os.environ)
    env.pop("OPENBLAS_NUM_THREADS", None)
    return env


def probe(code: str, **extra) -> dict:
    env = {**clean_env(), "QT_QPA_PLATFORM": "offscreen", **extra}
    script = "import json, numpy, pyqtgraph\n" + PROBE + code
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


IMPORT_ALL = """
import importlib, pkgutil
import playground{sub}
first = state(malloc=False)
names = sorted(m.name for m in pkgutil.iter_modules(playground{sub}.__path__) if m.name not in {skip})
for name in names:
    importlib.import_module("playground{sub}." + name)
print(json.dumps({{"before": first, "after": state(), "names": names}}))
"""


@pytest.mark.parametrize("sub, skip", [("", {"__main__", "ui"}), (".ui", set())], ids=["core", "ui"])
def test_importing_every_module_changes_nothing(sub, skip):
    out = probe(IMPORT_ALL.format(sub=sub, skip=repr(skip or {""})))
    before, after = out["before"], out["after"]
    assert len(out["names"]) > (20 if not sub else 10)  # the modules really were found
    assert after["environ"] == before["environ"]
    assert after["pyqtgraph"] == before["pyqtgraph"] and after["pyqtgraph"]["background"] == "k"  # pyqtgraph's own
    assert after["blas_threads"] == before["blas_threads"]
    assert after["mapped"]  # glibc's own thresholds: a fresh 12 MB block is mmapped


def test_importing_training_sets_no_blas_variable():
    env = {**clean_env(), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", "import os, playground.training; print(os.environ.get('OPENBLAS_NUM_THREADS'))"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "None", proc.stderr


def test_configure_process_limits_blas_and_keeps_freed_memory():
    out = probe("import playground.runtime as r\nr.configure_process()\nprint(json.dumps(state()))")
    assert out["blas_threads"] and set(out["blas_threads"]) == {1}
    assert not out["mapped"]  # the 12 MB block came from the heap: the 16 MB threshold is in place
    assert "OPENBLAS_NUM_THREADS" not in out["environ"]  # a limit on the loaded library, no variable


def test_a_users_own_blas_setting_wins():
    out = probe("import playground.runtime as r\nr.configure_process()\nprint(json.dumps(state()))",
                OPENBLAS_NUM_THREADS="2")
    assert set(out["blas_threads"]) == {2}


def test_the_command_line_sets_the_process_up():
    code = ("from playground.cli import main\nimport contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    main(['examples'])\nprint(json.dumps(state()))")
    out = probe(code)
    assert set(out["blas_threads"]) == {1} and not out["mapped"]


def test_the_training_child_sets_itself_up():
    """The child's own start (isolated, the package imported by location) ends with one BLAS thread."""
    from playground import train_server

    command = train_server.child_command()
    assert command[3] == train_server.IMPORT_BY_LOCATION + "from playground.train_server import _child_main\n_child_main()\n"
    command[3] = (train_server.IMPORT_BY_LOCATION + "import json, os\nfrom threadpoolctl import threadpool_info\n"
                  "from playground.train_server import configure_child\nconfigure_child()\n"
                  "print(json.dumps([package.__file__, os.nice(0), "
                  "[i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas']]))\n")
    env = {**clean_env(), "PLAYGROUND_TRAINING_NICENESS": "3"}
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    init, niceness, threads = json.loads(proc.stdout.strip().splitlines()[-1])
    assert init == os.path.join(ROOT, "playground", "__init__.py")
    assert niceness >= 3 and threads and set(threads) == {1}
