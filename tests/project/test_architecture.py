"""The package's shape: the lesson stays short, arrows point down."""

import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LESSON = os.path.join(ROOT, "keras_dcgan", "composite.py")


def test_the_lesson_module_reads_in_a_few_minutes():
    with open(LESSON) as f:
        assert len(f.read().splitlines()) < 120


def test_import_contracts_are_kept():
    result = subprocess.run(
        ["lint-imports", "setup.cfg"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize("name", ["build_generator", "build_discriminator"])
def test_model_building_lives_in_networks_alone(name):
    import keras_dcgan
    import keras_dcgan.networks

    function = getattr(keras_dcgan, name)
    assert function is getattr(keras_dcgan.networks, name)
    assert function.__module__ == "keras_dcgan.networks.builders"


@pytest.mark.parametrize("old", ["models.py", "averaging.py"])
def test_no_second_home_for_models_or_the_average(old):
    # The folder, not the import system: an editable install of another
    # checkout may add its own folder to the package's path.
    assert not os.path.exists(os.path.join(ROOT, "keras_dcgan", old)), old


def test_the_generator_average_lives_beside_dcgan():
    from keras_dcgan import DCGAN
    from keras_dcgan.dcgan import DCGAN as dcgan
    from keras_dcgan.dcgan import GeneratorAverage

    assert DCGAN is dcgan
    assert GeneratorAverage.__module__ == "keras_dcgan.dcgan.averaging"
