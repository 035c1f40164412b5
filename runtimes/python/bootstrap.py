"""lambdad's runtime process for the managed python3.X runtimes, run as
`<python3> /var/runtime/bootstrap.py` (what AWS's /var/runtime/bootstrap
runs, directly or through AWS_LAMBDA_EXEC_WRAPPER).

Environment: _HANDLER, AWS_LAMBDA_RUNTIME_API (host:port), LAMBDA_TASK_ROOT
(default /var/task), and the AWS_LAMBDA_* / AWS_REGION variables the context
and the logging read. See README.md beside this file.
"""

import os
import site
import sys

# The runtime's own modules are imported before the function's directories
# go first on sys.path, so that the function's files cannot stand in for them.
from lambdad_runtime import api, runtime

OPT_PYTHON = "/opt/python"


def opt_site_packages():
    return "/opt/python/lib/python%d.%d/site-packages" % sys.version_info[:2]


def set_sys_path(task_root, pythonpath_set):
    """sys.path: the task root, then (unless PYTHONPATH was set) the layers'
    site-packages and /opt/python, then this directory and the
    interpreter's own paths. Directories that do not exist do no harm."""
    if not pythonpath_set:
        sys.path.insert(0, OPT_PYTHON)
        sys.path.insert(0, opt_site_packages())
    sys.path.insert(0, task_root)


def add_site_dirs(task_root, pythonpath_set):
    """The .pth files of the task root and the layers."""
    site.addsitedir(task_root)
    if not pythonpath_set:
        site.addsitedir(opt_site_packages())
        site.addsitedir(OPT_PYTHON)


def main():
    task_root = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
    pythonpath_set = "PYTHONPATH" in os.environ
    set_sys_path(task_root, pythonpath_set)
    add_site_dirs(task_root, pythonpath_set)
    if not pythonpath_set:
        here = os.path.dirname(os.path.abspath(__file__))
        os.environ["PYTHONPATH"] = os.environ.get("LAMBDA_RUNTIME_DIR", here)
    runtime.run(os.environ["_HANDLER"], api.RuntimeApi(os.environ["AWS_LAMBDA_RUNTIME_API"]))


if __name__ == "__main__":
    main()
