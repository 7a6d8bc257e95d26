"""The shipped YAML files read the same through libyaml (common.yaml_data) as through PyYAML's own safe loader."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from common import yaml_data

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted([*ROOT.glob("mappings/*.yaml"), *ROOT.glob("expectations/*.yaml")])


def test_libyaml_is_the_loader_where_it_is_built_in():
    assert len(SHIPPED) >= 6
    if yaml.__with_libyaml__:
        assert yaml_data._LOADER is yaml.CSafeLoader


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_a_shipped_file_reads_as_the_safe_loader_reads_it(path):
    text = path.read_text(encoding="utf-8")
    assert yaml_data.load_yaml(text) == yaml.safe_load(text)


def test_what_is_not_safe_is_refused_as_by_the_safe_loader():
    with pytest.raises(yaml.YAMLError):
        yaml_data.load_yaml("!!python/object/apply:os.system ['true']")
