"""Build the compiled kernels (``src/infoloss/_kernels/_*.pyx`` with their C sources).

Every ``_kernels/_NAME.pyx`` becomes the extension ``infoloss._kernels._NAME``, compiled
together with ``_kernels/src/NAME.c`` when that file exists; all of them see
``_kernels/include`` (the shared ``vmath.h``).  Flags: ``-O3``, OpenMP, and vector code for
the installing machine (``-march=native``).  ``INFOLOSS_PORTABLE=1`` at install time builds
for the baseline of the architecture instead (a wheel to copy to other machines);
``INFOLOSS_CFLAGS`` adds flags.  No ``-ffast-math``: the kernels rely on IEEE semantics
(-inf logits, NaN detection, subnormals).  ``-fno-trapping-math`` (no floating-point traps
are enabled, so none can be observed) and ``-fno-math-errno`` change no result; they let
gcc evaluate both sides of a select, which its vectoriser needs.

Without a working C compiler the install still succeeds (the extensions are optional):
``import infoloss`` then warns once and runs the array-API code.  ``INFOLOSS_REQUIRE_KERNELS=1``
at install time makes a failed compile fail the install instead (CI sets it).
"""

from __future__ import annotations

import os
import platform
import shlex
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent
KERNELS = Path("src", "infoloss", "_kernels")


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def _flags() -> list[str]:
    flags = ["-O3", "-fopenmp", "-fno-math-errno", "-fno-trapping-math", "-std=gnu11"]
    if not _truthy("INFOLOSS_PORTABLE"):
        machine = platform.machine().lower()
        flags.append("-mcpu=native" if machine in ("arm64", "aarch64") else "-march=native")
    flags += shlex.split(os.environ.get("INFOLOSS_CFLAGS", ""))
    return flags


def _extensions() -> list[Extension]:
    # every header, so that editing one rebuilds the extensions (setuptools tracks sources)
    headers = [str(h.relative_to(HERE)) for h in sorted((HERE / KERNELS).glob("*/*.h"))]
    out = []
    for pyx in sorted((HERE / KERNELS).glob("_*.pyx")):
        sources = [str(KERNELS / pyx.name)]
        c_file = KERNELS / "src" / f"{pyx.stem[1:]}.c"
        if (HERE / c_file).exists():
            sources.append(str(c_file))
        out.append(
            Extension(
                f"infoloss._kernels.{pyx.stem}",
                sources,
                include_dirs=[str(KERNELS / "include"), str(KERNELS / "src"), np.get_include()],
                extra_compile_args=_flags(),
                extra_link_args=["-fopenmp"],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                depends=headers,
                optional=not _truthy("INFOLOSS_REQUIRE_KERNELS"),
            )
        )
    return out


class _ParallelBuild(build_ext):
    """Compile the extensions on every core (two on the reference machine)."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1


setup(
    ext_modules=cythonize(
        _extensions(),
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            "embedsignature": True,
        },
    ),
    cmdclass={"build_ext": _ParallelBuild},
)
