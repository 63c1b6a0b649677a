"""What the test environment provides: the binary under test, the source tree
and whether it is a sanitizer build (which makes everything slower, so every
deadline in the harness is scaled by `ENV.slow`)."""
import os
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Env:
    bordergate: Path
    source_dir: Path
    build_dir: Path | None
    sanitize: bool

    @property
    def slow(self) -> float:
        """Factor for every deadline: ASan+UBSan builds run several times slower."""
        return 5.0 if self.sanitize else 1.0

    @property
    def faultfs(self) -> Path:
        """The failing-disk shim of the chaos tests (tests/integration/faults/faultfs.c)."""
        build = self.build_dir or self.source_dir / "build" / "release"
        return build / "tests" / "integration" / "libbg_faultfs.so"

    def timeout(self, seconds: float) -> float:
        return seconds * self.slow

    @staticmethod
    def from_environ() -> "Env":
        here = Path(__file__).resolve().parent
        source = Path(os.environ.get("BG_SOURCE_DIR", here.parents[2]))
        binary = os.environ.get("BORDERGATE")
        if not binary:
            # Running a test file by hand: fall back to the release build.
            binary = str(source / "build" / "release" / "gateway" / "cli" / "bordergate")
        build = os.environ.get("BG_BUILD_DIR")
        sanitize = os.environ.get("BG_SANITIZE", "0").strip().lower() in ("1", "on", "true", "yes")
        return Env(Path(binary), source, Path(build) if build else None, sanitize)


ENV = Env.from_environ()


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"integration tests need `{name}` (scripts/install-deps installs it)")
    return path
