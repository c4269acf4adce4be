"""The parser on what models really emit, error locations, and the round trip."""

from __future__ import annotations

import pytest

from tinkerlab.core.errors import InputError, SketchSyntaxError
from tinkerlab.sketch.language import Sketch, Stroke, parse_sketch, parse_stroke

CLEAN = """<thinking>Two parts: a body and a tail.</thinking>
<answer>
<concept>kite</concept>
<strokes>
<s1>
<points>'x25y45', 'x35y30', 'x25y15', 'x15y30', 'x25y45'</points>
<t_values>0.00, 0.25, 0.50, 0.75, 1.00</t_values>
<id>diamond body</id>
</s1>
<s2>
<points>'x25y15', 'x28y8', 'x22y4'</points>
<t_values>0.00, 0.50, 1.00</t_values>
<id>tail</id>
</s2>
</strokes>
</answer>"""


def test_clean_reply():
    sketch = parse_sketch(CLEAN)
    assert sketch.concept == "kite"
    assert sketch.thinking == "Two parts: a body and a tail."
    assert len(sketch) == 2
    assert sketch.strokes[0].points[:2] == ((25, 45), (35, 30))
    assert sketch.strokes[1].t_values == (0.0, 0.5, 1.0)
    assert sketch.strokes[1].label == "tail"
    assert sketch.warnings == ()


def test_round_trip():
    sketch = parse_sketch(CLEAN)
    again = parse_sketch(sketch.to_text())
    assert again == sketch
    assert again.to_text() == sketch.to_text()
    with_plan = parse_sketch(sketch.to_text(include_thinking=True))
    assert with_plan.thinking == sketch.thinking


def test_strokes_mentioned_inside_thinking_are_ignored():
    text = (
        "<thinking>I will write <strokes> with <s1><points>'x1y1'</points></s1> as a try.</thinking>\n"
        "<answer><concept>line</concept><strokes><s1><points>'x5y5','x9y9'</points>"
        "<t_values>0,1</t_values><id>real</id></s1></strokes></answer>"
    )
    sketch = parse_sketch(text)
    assert [s.label for s in sketch.strokes] == ["real"]
    assert sketch.strokes[0].points == ((5, 5), (9, 9))


def test_unclosed_thinking_that_mentions_strokes():
    text = "<thinking>plan: the <strokes> tag comes later\n<strokes><s1><points>x1y1, x2y2</points></s1></strokes>"
    sketch = parse_sketch(text)
    assert sketch.strokes[0].points == ((1, 1), (2, 2))


def test_ampersand_and_angle_bracket_in_ids():
    text = (
        "<strokes><s1><points>'x1y1','x3y3'</points><t_values>0,1</t_values><id>cup & saucer <left></id></s1></strokes>"
    )
    sketch = parse_sketch(text)
    assert sketch.strokes[0].label == "cup & saucer <left>"
    assert parse_sketch(sketch.to_text()) == sketch


def test_missing_ids_stray_whitespace_and_unquoted_cells():
    text = """
    < strokes >
      < s1 >
        <points>  x1y1 ,x 2 y 3,  "x4y5" , [x6y7]  </points>
        < t_values > 0 , .3, 0.6 ,1.0 </ t_values >
      </ s1 >
      <s2><points>'X10Y10'</points><t_values>0.</t_values></s2>
    </ strokes >
    """
    sketch = parse_sketch(text)
    assert sketch.strokes[0].points == ((1, 1), (2, 3), (4, 5), (6, 7))
    assert sketch.strokes[0].t_values == (0.0, 0.3, 0.6, 1.0)
    assert sketch.strokes[0].label == ""
    assert sketch.strokes[1].points == ((10, 10),)


def test_cells_outside_the_grid_are_clamped_with_a_warning():
    sketch = parse_sketch(
        "<strokes><s1><points>'x0y51', 'x-3y20', 'x70y70'</points><t_values>0,0.5,1</t_values></s1></strokes>"
    )
    assert sketch.strokes[0].points == ((1, 50), (1, 20), (50, 50))
    assert len(sketch.warnings) == 3
    assert "clamped to x1y50" in sketch.warnings[0]


def test_t_count_mismatch_and_missing_t_values_warn():
    sketch = parse_sketch(
        "<strokes><s1><points>'x1y1','x2y2','x3y3'</points><t_values>0,1</t_values></s1>"
        "<s2><points>'x1y1','x9y9'</points></s2>"
        "<s3><points>'x1y1','x2y2'</points><t_values>-0.5, 1.5</t_values></s3></strokes>"
    )
    assert any("3 points but 2 t-values" in w for w in sketch.warnings)
    assert any("no <t_values>" in w for w in sketch.warnings)
    assert sketch.strokes[2].t_values == (0.0, 1.0)


def test_truncated_reply_keeps_the_complete_strokes():
    text = CLEAN.split("</s2>")[0]  # cut by a max_tokens limit inside the last stroke
    sketch = parse_sketch(text)
    assert len(sketch) == 2
    assert sketch.strokes[1].label == "tail"


def test_strokes_without_the_strokes_wrapper():
    sketch = parse_sketch("Sure!\n<s1><points>'x1y1','x2y2'</points><t_values>0,1</t_values></s1>")
    assert len(sketch) == 1


def test_unreadable_points_raise_with_line_and_column():
    text = "<answer>\n<strokes>\n<s1>\n<points>'x1y1', banana, 'x3y3'</points>\n</s1>\n</strokes>\n</answer>"
    with pytest.raises(SketchSyntaxError) as info:
        parse_sketch(text)
    assert info.value.line == 4
    assert info.value.column == text.splitlines()[3].index("banana") + 1
    assert "banana" in str(info.value)


def test_unreadable_t_values_raise_with_location():
    text = "<strokes><s1><points>'x1y1','x2y2'</points><t_values>0, half</t_values></s1></strokes>"
    with pytest.raises(SketchSyntaxError) as info:
        parse_sketch(text)
    assert (info.value.line, info.value.column) == (1, text.index("half") + 1)


def test_no_strokes_at_all_raises():
    with pytest.raises(SketchSyntaxError, match="no strokes found"):
        parse_sketch("<thinking>I am not sure what to draw.</thinking><answer>nothing</answer>")
    with pytest.raises(SketchSyntaxError, match="no <points>"):
        parse_sketch("<strokes><s1><t_values>0</t_values></s1></strokes>")
    with pytest.raises(SketchSyntaxError, match="empty <points>"):
        parse_sketch("<strokes><s1><points> , </points></s1></strokes>")


def test_lenient_mode_skips_bad_strokes():
    text = "<strokes><s1><points>oops</points></s1><s2><points>'x1y1','x4y4'</points></s2></strokes>"
    sketch = parse_sketch(text, strict=False)
    assert len(sketch) == 1
    assert any("skipped stroke s1" in w for w in sketch.warnings)
    with pytest.raises(SketchSyntaxError, match="none of the strokes"):
        parse_sketch("<strokes><s1><points>oops</points></s1></strokes>", strict=False)


def test_parse_stroke_fragment_from_a_stop_sequence():
    stroke, warnings = parse_stroke(
        "\n<points>'x1y1', 'x5y5'</points>\n<t_values>0.00, 1.00</t_values>\n<id>mast</id>\n"
    )
    assert stroke == Stroke(((1, 1), (5, 5)), (0.0, 1.0), "mast")
    assert warnings == []
    stroke, _ = parse_stroke("<points>'x1y1'</points></s4> trailing <s5>")
    assert stroke.points == ((1, 1),)


def test_sketch_editing_helpers_and_validation():
    sketch = parse_sketch(CLEAN)
    assert len(sketch.remove([1])) == 1
    assert sketch.add(Stroke.from_cells(["x1y1"])).strokes[-1].t_values == (0.0,)
    with pytest.raises(InputError, match="do not exist"):
        sketch.remove([3])
    with pytest.raises(InputError, match="outside the grid"):
        Sketch((Stroke(((51, 1),)),))
    with pytest.raises(InputError, match="cell name"):
        Stroke.from_cells(["a1b2"])
    with pytest.raises(TypeError):
        parse_sketch(None)  # type: ignore[arg-type]


def test_non_round_t_values_round_trip_exactly():
    stroke = Stroke(((1, 1), (2, 2), (3, 3)), (0.0, 1 / 3, 1.0))
    sketch = Sketch((stroke,), "x")
    assert parse_sketch(sketch.to_text()) == sketch
