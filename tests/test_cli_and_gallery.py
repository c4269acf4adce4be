import numpy as np
from typer.testing import CliRunner

from tinkerlab import __version__
from tinkerlab.cli import app
from tinkerlab.demo import DemoSection, render_gallery


def test_version_and_help():
    runner = CliRunner()
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "demo" in result.output


def test_gallery_embeds_everything_and_escapes_text():
    section = DemoSection(system="x", title="X demo", description="a <b> test")
    section.add_image("picture", np.zeros((4, 4, 3)), caption="black")
    section.add_audio("tone", np.sin(np.arange(800) / 5), 8000)
    section.add_table("numbers", ["a", "b"], [[1, 2]])
    section.add_text("reply", "<script>alert(1)</script>")
    page = render_gallery([section])
    assert "data:image/png;base64," in page and "data:audio/wav;base64," in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "http://" not in page and "https://" not in page
