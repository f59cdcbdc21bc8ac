"""Public names of a package, imported on first use (PEP 562).

A package lists its names once, each with the module that defines it;
`import keras_dcgan.runs` then loads none of them, so a module beside
them that needs no TensorFlow (`keras_dcgan.runs.ownership`) is imported
without it, and the command answers a mistake about a file in a second.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[list, Callable[[str], object], Callable[[], list]]:
    """`__all__`, `__getattr__` and `__dir__` for a package's `__init__`.

    Args:
        package: The package's `__name__`.
        exports: Each public name -> the module that defines it.

    Returns:
        The sorted public names, and the module-level `__getattr__` and
        `__dir__` that import each name's module when it is first used.

    Example:
        >>> __all__, __getattr__, __dir__ = lazy_exports(
        ...     __name__, {"train": "keras_dcgan.training.loop"})
    """
    names = sorted(exports)

    def __getattr__(name: str):
        if name in exports:
            value = getattr(importlib.import_module(exports[name]), name)
            # Cached, so that each name is looked up once.
            setattr(importlib.import_module(package), name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list:
        module = importlib.import_module(package)
        return sorted(set(vars(module)) | set(names))

    return names, __getattr__, __dir__
