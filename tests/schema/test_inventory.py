"""The inventory file: fields, budgets, and errors that name the file, the entry and the field."""

from __future__ import annotations

import pytest

from solver.schema.inventory import InventoryError, load_inventory

SERVERS = ["ovh-h100-380", "ovh-h100-760", "ovh-l40s-90"]


def write(tmp_path, text: str):
    p = tmp_path / "inv.yaml"
    p.write_text(text)
    return p


def test_a_monthly_budget_is_per_hour_over_730_hours(tmp_path):
    inv = load_inventory(write(tmp_path, "currency: eur\nbudget_per_month: 7300\nservers: [{server: ovh-h100-760, owned: 2}]\n"), SERVERS)
    assert inv.budget == pytest.approx(10.0) and inv.currency == "EUR"
    assert inv.holding("ovh-h100-760").owned == 2 and inv.holding("ovh-h100-760").stock is None


@pytest.mark.parametrize("text, words", [
    ("budget_per_hour: 1\nbudget_per_month: 700\n", ["not both"]),
    ("servers: [{server: ovh-h100-760}, {server: ovh-h100-760}]\n", ["listed twice"]),
    ("servers: [{server: ovh-h100-76}]\n", ["servers[0]", "unknown server", "ovh-h100-760"]),
    ("servers: [{server: ovh-l40s-90, owned: -1}]\n", ["servers[0] (ovh-l40s-90)", "owned"]),
    ("servers: [{server: ovh-l40s-90, stok: 3}]\n", ["unknown field 'stok'", "stock"]),
    ("power_limit_kw: .nan\n", ["power_limit_kw"]),
    ("- a list\n", ["mapping"]),
    ("servers: [\n", ["not valid YAML"]),
])
def test_bad_inventories(tmp_path, text, words):
    with pytest.raises(InventoryError) as e:
        load_inventory(write(tmp_path, text), SERVERS)
    assert "inv.yaml" in str(e.value)
    for w in words:
        assert w in str(e.value)
