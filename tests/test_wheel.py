"""The catalogue ships inside the wheel: an installed wheel, outside the checkout, lists it."""

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_outside_checkout_lists_catalogue(tmp_path):
    pytest.importorskip("build")
    dist = tmp_path / "dist"
    r = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                        str(dist), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    wheel = next(dist.glob("regimebench-*.whl"))

    # A clean virtual environment. Its dependencies (jax, …) are made visible through a .pth file
    # pointing at this interpreter's site-packages: a .pth only appends that folder to sys.path
    # and does not process the editable-install hook inside it, so `regimebench` can only come
    # from the wheel, installed first on the path.
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                        str(wheel)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True).stdout.strip()
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "JAX_PLATFORMS": "cpu",
           "HOME": str(tmp_path)}
    where = subprocess.run([str(py), "-c", "import regimebench._catalogue as c; "
                            "print(c.__file__); print(c.catalogue_root())"],
                           capture_output=True, text=True, cwd=outside, env=env, timeout=300)
    assert where.returncode == 0, where.stderr[-2000:]
    module_file, root = where.stdout.split()
    assert str(ROOT) not in module_file and "_catalogue_data" in root
    r = subprocess.run([str(env_dir / "bin" / "bench"), "list", "problems"], capture_output=True,
                       text=True, cwd=outside, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "helmholtz" in r.stdout
