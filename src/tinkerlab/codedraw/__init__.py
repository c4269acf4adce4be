"""Vision Check-up (Sharma, Rott Shaham et al., "A Vision Check-up for Language Models", CVPR 2024).

Chat models write programs that draw concepts of three levels (shapes, objects, scenes) in matplotlib, SVG, turtle
or TikZ; the programs run in the sandbox and are rendered at a fixed size; models improve their drawings by
text-only feedback and recognise drawings from code alone; self-supervised vision models train on the renders.

    from tinkerlab.codedraw.render import Renderer
    from tinkerlab.codedraw.draw import draw
    from tinkerlab.llm import load_chat_model

    with Renderer() as renderer:
        drawing = draw("a red car", "matplotlib", load_chat_model("local"), renderer, rounds=3)
    [r.status for r in drawing.rounds]
"""
