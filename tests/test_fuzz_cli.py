"""Any argument list either parses into a valid config or is refused with a
usage error and a message: never a traceback."""

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keras_dcgan.cli import build_parser
from keras_dcgan.cli.train import CONFIG_FLAGS, config_from_args
from keras_dcgan.config import DCGANConfig
from keras_dcgan.errors import ConfigError, DataError, RunError

FLAGS = sorted(CONFIG_FLAGS) + ["--dataset", "--data", "--resume",
                                "--overwrite", "--dry-run", "--verbose",
                                "--nz", "--ngf", "--ndf", "--beta1", "-h"]
VALUES = st.one_of(
    st.integers(-2**40, 2**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["batch", "moving", "fid", "digits", "", "-1", "1e309",
                     "0x10", "nan", "28", "64", "3"]),
    st.text(max_size=6),
)
ARGUMENTS = st.lists(st.one_of(st.sampled_from(FLAGS), VALUES), max_size=10)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(ARGUMENTS)
def test_train_arguments_parse_or_fail_cleanly(tmp_path_factory, argv):
    out = str(tmp_path_factory.getbasetemp() / "fuzz-run")
    try:
        args = build_parser().parse_args(["train", "--output-dir", out, *argv])
    except SystemExit as e:  # argparse: usage error (2) or --help (0)
        assert e.code in (0, 2)
        return
    try:
        config = config_from_args(args)
    except (ConfigError, DataError, RunError) as e:
        assert str(e)  # the message the CLI prints
        return
    assert isinstance(config, DCGANConfig)
    config.validate()


FIELDS = [f.name for f in dataclasses.fields(DCGANConfig)]
ANY_VALUE = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                      st.floats(), st.text(max_size=5))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), ANY_VALUE, max_size=4))
def test_config_validation_raises_only_config_errors(values):
    try:
        DCGANConfig(**values)
    except ConfigError as e:
        assert "--" in str(e) or "eval" in str(e)
