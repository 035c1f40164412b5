#!/usr/bin/python3
"""Stages lambdad's runtime clients with their Python bytecode compiled.

  stage-runtimes.py SRC OUT STAMP   copy SRC/python and SRC/nodejs to OUT
                                    (the build tree's runtimes, which a
                                    lambdad run from the build tree binds),
                                    compile, touch STAMP
  stage-runtimes.py --compile DIR   compile DIR/python in place (meson's
                                    install script, on the installed copy)

/var/runtime is read-only in an environment, so a client without
__pycache__ is compiled from source at every cold start (about 10 ms of a
Python cold start here). Bytecode is written for every python3 / python3.X
the runtime catalog could pick on this host (/usr/local/bin, /usr/bin,
/bin), in checked-hash mode: valid whatever the files' times after a copy,
and never used if a source differs from what it was compiled from.
"""

import os
import re
import shutil
import subprocess
import sys

CLIENTS = ("python", "nodejs")
SEARCH = ("/usr/local/bin", "/usr/bin", "/bin")


def interpreters():
    seen, found = set(), []
    for d in SEARCH:
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        for name in names:
            path = os.path.join(d, name)
            if not re.fullmatch(r"python3(\.\d+)?", name) or not os.access(path, os.X_OK):
                continue
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                found.append(path)
    return found


def compile_tree(python_dir):
    for interp in interpreters():
        subprocess.run([interp, "-m", "compileall", "-q", "--invalidation-mode", "checked-hash",
                        python_dir], check=True)


def stage(src, out, stamp):
    for client in CLIENTS:
        dest = os.path.join(out, client)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(os.path.join(src, client), dest,
                        ignore=shutil.ignore_patterns("README.md", "__pycache__"))
    compile_tree(os.path.join(out, "python"))
    with open(stamp, "w"):
        pass


def main(argv):
    if len(argv) == 2 and argv[0] == "--compile":
        # DIR relative to the installation prefix (with DESTDIR), or absolute
        target = os.path.join(os.environ.get("MESON_INSTALL_DESTDIR_PREFIX", "/"), argv[1])
        compile_tree(os.path.join(target, "python"))
    elif len(argv) == 3:
        stage(*argv)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
