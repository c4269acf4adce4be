"""`tinkerlab waveform ...`: Catch-A-Waveform (Greshler, Rott Shaham and Michaeli, NeurIPS 2021): a GAN learned from
one short audio clip; new audio of any length, variations, inpainting, bandwidth extension and denoising.

Only typer, pathlib and typing are imported at the top, so `tinkerlab --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from tinkerlab.cli_options import Device, Overwrite, Seed, out_option

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def _group() -> None:
    """Catch-A-Waveform: audio GANs learned from a single clip."""


TrainMode = Literal["music", "speech"]
Preset = Literal["cpu", "paper"]
PresetOption = Annotated[
    Preset,
    typer.Option(
        "--preset",
        help="cpu: top rate 4 kHz, 16 channels, 150 epochs per scale (minutes); paper: 16 kHz, 16/96 channels, "
        "2000 epochs (days on a CPU).",
    ),
]
Threads = Annotated[int, typer.Option("--threads", min=1, help="Torch threads; 1 is fastest for these small networks.")]
Epochs = Annotated[int | None, typer.Option("--epochs", min=1, help="Epochs per scale (overrides the preset).")]
TopRate = Annotated[
    int | None, typer.Option("--top-rate", min=320, help="The finest sample rate in Hz, one of the pyramid's rates.")
]
Seconds = Annotated[float | None, typer.Option("--max-seconds", min=0.5, help="Cut the clip to this length.")]
Offset = Annotated[float, typer.Option("--offset", min=0.0, help="Skip this many seconds of the file first.")]


def _config(
    mode: str,
    preset: str,
    epochs: int | None,
    top_rate: int | None,
    seed: int,
    device: str,
    seconds=None,
    mse_weight: float | None = None,
):
    from dataclasses import replace

    from tinkerlab.waveform.config import WaveformConfig, demo_waveform_config

    config = demo_waveform_config(mode, seed=seed) if preset == "cpu" else WaveformConfig(mode=mode, seed=seed)
    changes = {"device": device}
    if epochs is not None:
        changes["epochs"] = epochs
    if top_rate is not None:
        changes["top_rate"] = top_rate
    if seconds is not None:
        changes["max_seconds"] = seconds
    if mse_weight is not None:
        changes["mse_weight"] = mse_weight
    return replace(config, **changes)


def _clip(path: str, config, offset: float):
    from tinkerlab.waveform.sounds import sound_source

    return sound_source(path, config.top_rate, seconds=config.max_seconds, offset=offset)


@app.command()
def train(
    wav: str = typer.Argument(..., help="A sound file, or melody / chords / moh:TRACK / sample:NAME / speech."),
    out: Annotated[Path, out_option("the run directory (config, checkpoints, the clip at every rate).")] = ...,
    mode: TrainMode = typer.Option("music", "--mode", help="music: spectrogram loss; speech: MSE, from 500 Hz."),
    preset: PresetOption = "cpu",
    epochs: Epochs = None,
    top_rate: TopRate = None,
    max_seconds: Seconds = None,
    offset: Offset = 0.0,
    seed: Seed = 0,
    threads: Threads = 1,
    overwrite: Overwrite = False,
    device: Device = "cpu",
) -> None:
    """Train a model on one clip, scale by scale (resumes a matching run in --out)."""
    from tinkerlab.core.seeding import torch_threads
    from tinkerlab.waveform import training

    config = _config(mode, preset, epochs, top_rate, seed, device, max_seconds)
    with torch_threads(threads):
        model = training.train(_clip(wav, config, offset), config, out=out, overwrite=overwrite)
    rates = ", ".join(str(r) for r in model.rates)
    typer.echo(f"trained {len(model.rates)} scales ({rates} Hz) on {model.clip.seconds:.2f} s; run in {out}")


@app.command()
def generate(
    run: Path = typer.Argument(..., help="A finished run of `tinkerlab waveform train`."),
    seconds: float = typer.Option(30.0, "--seconds", min=0.1, help="Length of each signal."),
    n: int = typer.Option(1, "--n", min=1, help="How many signals."),
    seed: Seed = 0,
    threads: Threads = 1,
    device: Device = "cpu",
) -> None:
    """New audio of any length from a trained model (WAV files in RUN/outputs/generated)."""
    from tinkerlab.core.seeding import torch_threads
    from tinkerlab.waveform import training

    with torch_threads(threads):
        model = training.load(run, device=device)
        signals = model.generate(seconds, n, seed=seed)
    paths = _write(signals, model.rate, run / "outputs" / "generated", f"{seconds:g}s_seed{seed}")
    typer.echo(f"wrote {len(paths)} signals of {seconds:g} s to {paths[0].parent}")


@app.command()
def vary(
    run: Path = typer.Argument(..., help="A finished run of `tinkerlab waveform train`."),
    n: int = typer.Option(3, "--n", min=1, help="How many variations."),
    start_scale: int | None = typer.Option(
        None, "--start-scale", min=1, help="First scale with fresh noise (default: the middle one)."
    ),
    seed: Seed = 0,
    threads: Threads = 1,
    device: Device = "cpu",
) -> None:
    """Variations of the training clip that keep its coarse content (RUN/outputs/variations)."""
    from tinkerlab.core.seeding import torch_threads
    from tinkerlab.waveform import training

    with torch_threads(threads):
        model = training.load(run, device=device)
        signals = model.vary(n, start_scale=start_scale, seed=seed)
    paths = _write(signals, model.rate, run / "outputs" / "variations", f"s{start_scale or 'mid'}_seed{seed}")
    typer.echo(f"wrote {len(paths)} variations to {paths[0].parent}")


@app.command()
def inpaint(
    run: Path = typer.Argument(..., help="A finished run of `tinkerlab waveform train` (its clip is inpainted)."),
    holes: str = typer.Option(..., "--holes", help="Holes in seconds, e.g. 2.0-2.5,4.1-4.3."),
    n: int = typer.Option(1, "--n", min=1, help="How many fills (the first is the reconstruction's)."),
    seed: Seed = 0,
    threads: Threads = 1,
    overwrite: Overwrite = False,
    device: Device = "cpu",
) -> None:
    """Fill holes in the run's clip: trains an inpainting model that never sees them (RUN/inpainting/HOLES)."""
    from tinkerlab.core.seeding import torch_threads
    from tinkerlab.waveform import training
    from tinkerlab.waveform.signals import parse_holes

    spans = parse_holes(holes)
    with torch_threads(threads):
        base = training.load(run, device=device)
        model = training.train_inpainting(base, spans, overwrite=overwrite)
        fills = model.inpaint(n, seed=seed)
    paths = _write(fills, model.rate, model.path / "outputs", f"inpainted_seed{seed}")
    typer.echo(f"wrote {len(paths)} inpainted signals to {paths[0].parent}")


@app.command()
def extend(
    run: Path = typer.Argument(..., help="A finished run of `tinkerlab waveform train`."),
    lowrate: Path = typer.Argument(..., help="A low-rate WAV whose rate is one of the run's rates."),
    seed: Seed = 0,
    threads: Threads = 1,
    device: Device = "cpu",
) -> None:
    """Bandwidth extension of a low-rate recording to the run's top rate (RUN/outputs/extended)."""
    from tinkerlab.core.audio import save_audio
    from tinkerlab.core.seeding import torch_threads
    from tinkerlab.waveform import training
    from tinkerlab.waveform.signals import read_signal

    signal, rate = read_signal(lowrate)
    with torch_threads(threads):
        model = training.load(run, device=device)
        extended = model.extend(signal, rate, seed=seed)
    path = save_audio(extended, model.rate, run / "outputs" / "extended" / f"{lowrate.stem}_{model.rate}Hz.wav")
    typer.echo(f"extended {rate} Hz to {model.rate} Hz: {path}")


@app.command()
def denoise(
    noisy: str = typer.Argument(..., help="A noisy recording (a sound file)."),
    out: Annotated[Path, out_option("the run directory; the result is RUN/outputs/denoised.wav.")] = ...,
    preset: PresetOption = "cpu",
    epochs: Epochs = None,
    top_rate: TopRate = None,
    max_seconds: Seconds = None,
    offset: Offset = 0.0,
    mse_weight: Annotated[
        float | None,
        typer.Option(
            "--mse-weight",
            min=0.0,
            help="alpha1, the weight of the time-domain MSE (the paper preset's 10, the cpu preset's 30).",
        ),
    ] = None,
    seed: Seed = 0,
    threads: Threads = 1,
    overwrite: Overwrite = False,
    device: Device = "cpu",
) -> None:
    """Denoise a recording: train on it (time-domain MSE) and keep the reconstruction."""
    from tinkerlab.core.audio import save_audio
    from tinkerlab.core.seeding import torch_threads
    from tinkerlab.waveform import training

    config = _config("denoising", preset, epochs, top_rate, seed, device, max_seconds, mse_weight)
    with torch_threads(threads):
        clean = training.denoise(_clip(noisy, config, offset), config, out=out, overwrite=overwrite)
    path = save_audio(clean, config.top_rate, out / "outputs" / "denoised.wav")
    typer.echo(f"denoised {len(clean) / config.top_rate:.2f} s: {path}")


def _write(signals: list, rate: int, folder: Path, tag: str) -> list[Path]:
    import numpy as np

    from tinkerlab.core.audio import save_audio

    paths = []
    for index, signal in enumerate(signals):
        peak = max(1.0, float(np.abs(signal).max()))  # scale down rather than clip (as the original)
        paths.append(save_audio(signal / peak, rate, folder / f"{tag}_{index}.wav"))
    return paths
