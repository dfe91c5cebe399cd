"""The integrations import their frameworks lazily: `import tally` and `import tally.integrations`
import none, an integration module imports its own (and subclasses its base class), and a
missing framework is named with the package to install. Each check runs in a fresh interpreter."""
import importlib.util
import json
import subprocess
import sys

import pytest

FRAMEWORKS = ["torch", "lightning", "pytorch_lightning", "transformers", "keras", "jax", "tensorflow", "sklearn"]
# integration module -> (the framework module it needs, the package to install, the class it subclasses)
INTEGRATIONS = {
    "lightning": ("lightning", "lightning", "lightning.pytorch.loggers:Logger", "TallyLogger"),
    "transformers": ("transformers", "transformers", "transformers:TrainerCallback", "TallyCallback"),
    "keras": ("keras", "keras", "keras.callbacks:Callback", "TallyCallback"),
}


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    import os
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "KERAS_BACKEND": "jax", **env})


def imported_after(statement: str) -> list:
    result = run_python(f"import sys\n{statement}\nimport json\n"
                        f"print(json.dumps(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules)))")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def test_tally_and_tally_integrations_import_no_framework():
    assert imported_after("import tally, tally.aio, tally.integrations") == []


DATA_LIBRARIES = ["numpy", "pandas", "PIL", "matplotlib", "pyarrow", "psutil", "pynvml", "torch"]


def test_tally_imports_no_data_or_system_library():
    """Images, tables, frames, system metrics and the environment import theirs when used."""
    result = run_python(f"import sys, json\nimport tally, tally.aio\n"
                        f"print(json.dumps([m for m in {DATA_LIBRARIES!r} if m in sys.modules]))")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_sklearn_integration_imports_sklearn_only_when_called():
    assert imported_after("import tally.integrations.sklearn") == []
    if installed("sklearn"):
        after = imported_after("import tally.integrations.sklearn as s\n"
                               "from sklearn.linear_model import LinearRegression\n"
                               "s.estimator_params(LinearRegression())")
        assert after == ["sklearn"]


@pytest.mark.parametrize("name", sorted(INTEGRATIONS))
def test_an_integration_imports_its_own_framework_or_names_the_package_to_install(name):
    framework, package, base, cls = INTEGRATIONS[name]
    if not installed(framework):
        result = run_python(f"import tally.integrations.{name}")
        assert result.returncode != 0
        assert f"ImportError: tally.integrations.{name} needs {package} (pip install {package})" in result.stderr
        return
    # (Which other frameworks get imported then is the framework's business: Lightning imports
    # transformers when it is installed, Keras imports scikit-learn.)
    module, base_name = base.split(":")
    result = run_python(f"import importlib, sys\n"
                        f"from tally.integrations.{name} import {cls}\n"
                        f"assert {framework!r} in sys.modules\n"
                        f"base = getattr(importlib.import_module({module!r}), {base_name!r})\n"
                        f"assert issubclass({cls}, base), {cls}.__mro__")
    assert result.returncode == 0, result.stderr


def test_the_sklearn_integration_names_the_package_when_sklearn_is_missing():
    if installed("sklearn"):
        pytest.skip("scikit-learn is installed here")
    result = run_python("import tally.integrations.sklearn as s\ns.estimator_scores(object(), [], [])")
    assert "tally.integrations.sklearn needs scikit-learn (pip install scikit-learn)" in result.stderr
