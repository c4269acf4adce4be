"""The gallery section of tinkerlab.waveform, with one epoch per scale: every item is produced, and a second run
reuses the cached model."""

from __future__ import annotations

from tinkerlab.demo import DemoContext, DemoSection
from tinkerlab.waveform import demo


def test_demo_section_and_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "DEMO_EPOCHS", 1)
    first = DemoContext(DemoSection(system="waveform"), cache_dir=tmp_path / "cache", out_dir=tmp_path / "out")
    demo.run_demo(first)
    kinds = [item.kind for item in first.section.items]
    assert kinds.count("audio") == 8 and kinds.count("image") == 1 and kinds.count("table") == 1
    table = next(item for item in first.section.items if item.kind == "table")
    assert ["known samples bit-exact", "True"] in table.payload[1]
    second = DemoContext(DemoSection(system="waveform"), cache_dir=tmp_path / "cache", out_dir=tmp_path / "out")
    demo.run_demo(second)
    assert any("reused cached" in note for note in second.section.notes)
