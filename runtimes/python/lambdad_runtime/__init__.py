"""lambdad's runtime interface client for the managed python3.X runtimes.

Standard library only. bootstrap.py (beside this package, installed as
/var/runtime/bootstrap.py in the sandbox) sets up sys.path and calls
lambdad_runtime.runtime.run(); see runtimes/python/README.md.
"""

__version__ = "1.0.0"
