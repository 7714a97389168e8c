"""The plate's wells table: a column with nothing in any row takes no width."""

from __future__ import annotations

from polystore_gui.model.plate_summary import FieldSummary, PlateSummary, WellSummary
from polystore_gui.qt.wells_table import WellsTable


def _plate(acquisitions=(), attributes=()):
    wells = tuple(
        WellSummary(
            name=f"A0{i + 1}",
            path=f"A/{i + 1}",
            row="A",
            column=str(i + 1),
            row_index=0,
            column_index=i,
            fields=(FieldSummary(address=f"disk:/p/A/{i + 1}/0", name="0"),),
            acquisitions=acquisitions,
            attributes=attributes,
        )
        for i in range(3)
    )
    return PlateSummary("ome-plate", "disk", "/p", "p", "0.4", ("A",), ("1", "2", "3"), wells, 1)


def _shown_headers(table):
    header = table.view.horizontalHeader()
    model = table.view.model()
    return [model.headerData(c, header.orientation()) for c in range(model.columnCount()) if not header.isSectionHidden(c)]


def test_an_acquisition_column_empty_in_every_row_is_hidden(qtbot):
    table = WellsTable()
    qtbot.addWidget(table)
    table.resize(500, 300)
    table.show()
    table.set_plate(_plate())
    assert _shown_headers(table) == ["well", "row", "column", "fields"]
    # The next plate has acquisitions: the column comes back.
    table.set_plate(_plate(acquisitions=(2,)))
    assert _shown_headers(table) == ["well", "row", "column", "fields", "acquisition"]
    assert table.view.model().index(0, 4).data() == "2"


def test_an_attribute_column_empty_in_every_row_is_hidden_the_others_kept(qtbot):
    table = WellsTable()
    qtbot.addWidget(table)
    table.set_plate(_plate(attributes=(("condition", "drug"), ("note", ""))))
    assert _shown_headers(table) == ["well", "row", "column", "fields", "condition"]
    # The filter still reads every column shown.
    table.filter.setText("drug")
    assert table.proxy.rowCount() == 3
