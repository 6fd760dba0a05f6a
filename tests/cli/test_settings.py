"""The settings schema (tasks/settings.py) itself, and the small cases of issue 15 that are no error table row:
float8 files listed by ``inspect``, a torn non-UTF-8 last line, ``rnnkit presets --settings``."""

from __future__ import annotations

import pytest

from rnnkit.cli import main
from rnnkit.tasks import TASKS
from rnnkit.tasks.settings import COMMON, ConfigError, check_settings
from rnnkit.train import rundir as rd
from tests.cli.test_settings_errors import _float8


def test_inspect_lists_a_float8_safetensors_file(tmp_path, capsys):
    _float8(tmp_path)
    assert main(["inspect", str(tmp_path / "f8.safetensors")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[2].split() == ["w", "[2,", "3]", "float8_e4m3", "6", "6"], out


def test_a_torn_last_line_is_dropped_even_when_not_utf8(tmp_path):
    log = tmp_path / rd.METRICS_LOG
    log.write_bytes(
        b'{"step": 1}\n{"step": 2, "x": "\xff'
    )  # a kill in the middle of a multi-byte character
    assert rd.read_jsonl(log) == [{"step": 1}]
    log.write_bytes(b'{"step": 1}\n\xff\n{"step": 3}\n')  # damage elsewhere is an error
    with pytest.raises(rd.RunFileError, match="line 2 is not UTF-8 text"):
        rd.read_jsonl(log)


def test_each_preset_passes_the_settings_check_and_every_default_is_declared():
    from rnnkit.tasks.base import COMMON_DEFAULTS
    from rnnkit.tasks.settings import COMMON

    common = {s.name for s in COMMON}
    assert set(COMMON_DEFAULTS) <= common
    for name, cls in TASKS.items():
        own = {s.name for s in cls.settings if "." not in s.name}
        # one table per task: every default has a type and a range, declared once
        assert set(cls.defaults) - common == own, name
        assert not own & common, name
        for preset in cls.presets:
            if name != "mnist":  # mnist presets are resolved with data in the property test
                assert cls.resolve_config(preset, {})["preset"] == preset


def test_presets_lists_every_setting_with_its_type(capsys):
    from rnnkit.tasks.settings import COMMON

    for name, cls in TASKS.items():
        assert main(["presets", name, "--settings"]) == 0
        out = capsys.readouterr().out
        for s in (*COMMON, *cls.settings):
            assert f"    {s.name} " in out and s.type in out, (name, s.name)


@pytest.mark.parametrize(
    "value, ok",
    [
        (1, True),
        (True, False),
        (1.0, False),
        (-1, False),
        (2**32 - 1, True),
        (2**32, False),
        ("1", False),
    ],
)
def test_an_integer_setting_takes_no_bool_float_or_text(value, ok):
    table = [s for s in COMMON if s.name == "seed"]
    if ok:
        check_settings(table, {"seed": value}, "t")
    else:
        with pytest.raises(
            ConfigError, match=r"^seed: expected an integer in \[0, 4294967295\], got "
        ):
            check_settings(table, {"seed": value}, "t")


def test_a_nested_set_after_a_plain_one_wins():
    from rnnkit.cli._common import parse_sets

    assert parse_sets(["init=null", "init.std=0.5"], {}) == {"init": {"std": 0.5}}
    assert parse_sets(["model.cell=lstm", "model=5"], {}) == {"model": 5}
