"""The deployed table is generated from the models: the checked-in template must be current."""

import json
from pathlib import Path

from chalicelib.store.template import resources

ROOT = Path(__file__).resolve().parents[2]


def test_infra_template_is_current() -> None:
    written = json.loads((ROOT / "infra" / "resources.json").read_text())
    assert written == json.loads(json.dumps(resources())), "run: python -m chalicelib.cli write-infra"


def test_table_has_the_listing_indexes() -> None:
    table = resources()["Resources"]["ProductsTable"]["Properties"]
    names = {i["IndexName"] for i in table["GlobalSecondaryIndexes"]}
    assert {"scope", "brand", "season", "year", "member"} <= names
    assert table["TimeToLiveSpecification"]["Enabled"] is True
