"""Gallery demo of `tinkerlab.waveform`: Catch-A-Waveform (Greshler, Rott Shaham and Michaeli, NeurIPS 2021) trained
on this CPU on a few seconds of music: an inpainted hole, new samples twice as long, a bandwidth extension.

To stay within a minute on a quiet 2-core CPU, one small model does all three: it is trained in inpainting mode on
the clip with a hole it never hears (so its unconditional samples and its extension come from the same model),
at a top rate of 2 kHz with `DEMO_EPOCHS` epochs per scale (the benchmark's demo configuration: 4 kHz, 150
epochs). The run is cached in `ctx.cache_dir`, so a second gallery run only generates. docs/waveform.md reports
the checks at larger settings, each mode with its own model.
"""

from __future__ import annotations

import numpy as np

DEMO_RATE, DEMO_LOW_RATE = 2000, 1000
DEMO_EPOCHS = 40
DEMO_SECONDS = 5.0
DEMO_HOLE = (2.5, 2.8)


def demo_config(mode: str = "music"):
    """The gallery's setting: top rate 2 kHz, 16 channels, `DEMO_EPOCHS` epochs per scale."""
    from tinkerlab.waveform.config import demo_waveform_config

    return demo_waveform_config(mode, epochs=DEMO_EPOCHS, top_rate=DEMO_RATE)  # type: ignore[arg-type]


def run_demo(ctx) -> None:
    from tinkerlab.core.audio import resample
    from tinkerlab.core.seeding import torch_threads
    from tinkerlab.waveform import training
    from tinkerlab.waveform.baselines import crossfade_fill, polyphase_upsample, spectral_extension
    from tinkerlab.waveform.checks import music_clip
    from tinkerlab.waveform.metrics import copy_scores, lsd, per_second_ltas
    from tinkerlab.waveform.plots import labelled_rows, spectrogram_image
    from tinkerlab.waveform.signals import true_runs

    section = ctx.section
    section.title = "waveform: audio learned from one clip (Catch-A-Waveform)"
    section.description = (
        f"A 1-D multi-scale GAN of the pyramid engine, trained from scratch on this CPU on {DEMO_SECONDS:g} s of "
        f"music at {DEMO_RATE} Hz ({DEMO_EPOCHS} epochs per scale, far fewer than the paper's 2000, so expect "
        "rough audio). It draws new music of any length, fills a hole it never heard and adds the missing high "
        "band to a low-rate recording."
    )
    with torch_threads(1):
        clip, name = music_clip(DEMO_RATE, DEMO_SECONDS, offset=30.0)
        rate = DEMO_RATE
        outside = np.ones(len(clip), dtype=bool)
        outside[int(DEMO_HOLE[0] * rate) : int(DEMO_HOLE[1] * rate)] = False
        truth = (clip / np.abs(clip[outside]).max()).astype(np.float32)  # peak 1 where the model may listen
        run = ctx.cached_run(f"waveform-hole-{DEMO_RATE}-{DEMO_EPOCHS}")
        if ctx.run_finished(run):
            ctx.reused(f"waveform model of {name} with a hole ({run})")
        inpainter = training.train(truth, demo_config("inpainting"), holes=[DEMO_HOLE], out=run)
        model = inpainter
        filled = inpainter.inpaint(1, seed=0)[0]
        samples = model.generate(2 * DEMO_SECONDS, n=2, seed=0)
        held_out, _ = music_clip(DEMO_RATE, DEMO_SECONDS, offset=60.0)
        low = resample(held_out, DEMO_RATE, DEMO_LOW_RATE)
        extended = model.extend(low, DEMO_LOW_RATE, seed=0)

    known = inpainter.clip.known[-1]
    with_hole = np.where(known, truth, 0.0).astype(np.float32)
    section.add_audio(f"the clip: {name}", truth, rate, caption=f"{DEMO_SECONDS:g} s at {rate} Hz.")
    for index, sample in enumerate(samples):
        section.add_audio(f"generated sample {index + 1} ({2 * DEMO_SECONDS:g} s)", _fit(sample), rate)
    section.add_audio(f"the training clip: a hole at {DEMO_HOLE[0]}-{DEMO_HOLE[1]} s", with_hole, rate)
    section.add_audio("the hole inpainted", filled, rate, caption="Known samples are the clip's, bit for bit.")
    section.add_audio(f"held-out music at {DEMO_LOW_RATE} Hz (input)", low, DEMO_LOW_RATE)
    section.add_audio(f"extended to {rate} Hz", _fit(extended), rate)
    section.add_audio(f"the truth at {rate} Hz", held_out, rate)

    width = 48.0
    rows = [
        ("the clip", spectrogram_image(truth, rate, px_per_second=width)),
        ("training clip (hole)", spectrogram_image(with_hole, rate, px_per_second=width)),
        ("sample 1 (2x long)", spectrogram_image(samples[0], rate, px_per_second=width)),
        ("hole inpainted", spectrogram_image(filled, rate, px_per_second=width)),
        ("low-rate input", spectrogram_image(polyphase_upsample(low, DEMO_LOW_RATE, rate), rate, px_per_second=width)),
        ("extended", spectrogram_image(extended, rate, px_per_second=width)),
        ("truth", spectrogram_image(held_out, rate, px_per_second=width)),
    ]
    section.add_image(
        "Spectrograms (0 Hz at the bottom of each strip, 1 kHz at the top)",
        labelled_rows(rows),
        caption=f"The model's scales: {', '.join(str(r) for r in model.rates)} Hz.",
    )

    hole = ~known
    ((a, b),) = true_runs(hole)
    copies = np.concatenate([copy_scores(s, with_hole, rate) for s in samples])
    sample_ltas = np.concatenate([per_second_ltas(s, with_hole, rate)[0] for s in samples])
    _, clip_ltas = per_second_ltas(with_hole, with_hole, rate)
    n = len(held_out)
    section.add_table(
        "Checks on these outputs (baselines are model-free)",
        ["check", "value"],
        [
            *[
                [f"hole LSD, 256-point frames: {label}", f"{lsd(x[a:b], truth[a:b], n_fft=256):.3f}"]
                for label, x in (
                    ("zero fill baseline", with_hole),
                    ("cross-fade baseline", crossfade_fill(with_hole, true_runs(hole))),
                    ("Catch-A-Waveform", filled),
                )
            ],
            ["known samples bit-exact", str(bool(np.array_equal(filled[known], truth[known])))],
            [
                "extension LSD: polyphase baseline",
                f"{lsd(polyphase_upsample(low, DEMO_LOW_RATE, rate, n), held_out):.3f}",
            ],
            [
                "extension LSD: spectral baseline",
                f"{lsd(spectral_extension(low, DEMO_LOW_RATE, rate, n), held_out):.3f}",
            ],
            ["extension LSD: Catch-A-Waveform", f"{lsd(extended, held_out):.3f}"],
            [
                "per-second LTAS distance (dB): samples / the clip's own seconds",
                f"{sample_ltas.mean():.2f} / {clip_ltas.mean():.2f} (max {clip_ltas.max():.2f})",
            ],
            ["copy test, max over 1 s windows (the clip itself: 1.0)", f"{copies.max():.3f}"],
        ],
    )


def _fit(signal: np.ndarray) -> np.ndarray:
    """Scaled down when it exceeds full scale (as the original writes its outputs)."""
    return (signal / max(1.0, float(np.abs(signal).max()))).astype(np.float32)
