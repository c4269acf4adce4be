"""`tinkerlab maia ...`: explain units of vision models by experiment (light imports only)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tinkerlab.cli_options import (
    CHAT_MODEL_FORMS,
    ApiKeyEnv,
    BaseUrl,
    CommaList,
    Device,
    ExecutorOption,
    Overwrite,
    Retries,
    Seed,
    Spec,
    Timeout,
    Workers,
    connection_environment,
    model_option,
    out_option,
)

app = typer.Typer(no_args_is_help=True, add_completion=False, help="MAIA: an agent that explains vision neurons.")

VISION_MODELS = (
    "efficientnet-lite0",
    "torchvision:ARCH:WEIGHTS",
    "timm:ARCH:WEIGHTS",
    "open_clip:ARCH:WEIGHTS",
    "python:MODULE:FACTORY",
)
"""The vision-model specs of `tinkerlab.vision.units.load_vision_model`."""
METHODS = ("agent", "experimenter", "exemplar", "random")
"""`tinkerlab.maia.runs.METHODS` (not imported here, so `--help` stays fast)."""

VisionModelOption = Annotated[str, model_option(VISION_MODELS)]
Agent = Annotated[
    str,
    typer.Option(
        "--agent",
        parser=Spec(CHAT_MODEL_FORMS, check=False),
        metavar="SPEC",
        help="The agent's chat model (local, local:PATH, openai:MODEL, anthropic:MODEL, scripted:FILE).",
    ),
]
Describer = Annotated[
    str,
    typer.Option(
        "--describer",
        parser=Spec(("labels", *CHAT_MODEL_FORMS)),
        metavar="SPEC",
        help="describe_images backend: labels (the offline stand-in) or a chat model that reads images.",
    ),
]
Methods = Annotated[
    str,
    typer.Option(
        "--methods", parser=CommaList(METHODS), metavar="LIST", help="Comma-separated methods: " + ",".join(METHODS)
    ),
]
ProbeImages = Annotated[int, typer.Option("--probe-images", min=1, help="Images in the probe set.")]
ProbeFolder = Annotated[
    Path | None, typer.Option("--probe-folder", help="An image folder (e.g. ImageNet val) as the probe set.")
]
MaxRounds = Annotated[int, typer.Option("--max-rounds", min=1, help="Agent experiments before the final answer.")]
MaxTokens = Annotated[int, typer.Option("--max-tokens", min=1, help="Tokens one agent reply may take.")]


def _probe(images: int, folder: Path | None, seed: int):
    from tinkerlab.maia.runs import ProbeConfig

    return ProbeConfig(images=images, seed=seed, folder=str(folder) if folder else None)


def _methods(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))


@app.command()
def describe(
    model: VisionModelOption = "efficientnet-lite0",
    layer: str = typer.Option("blocks.10", "--layer", help="The layer (e.g. blocks.10; an unknown one lists all)."),
    unit: int = typer.Option(0, "--unit", min=0, help="The unit (channel) of the layer."),
    synthetic: str | None = typer.Option(
        None, "--synthetic", metavar="NAME", help="Describe this synthetic neuron instead (e.g. star_night)."
    ),
    method: str = typer.Option(
        "agent", "--method", parser=Spec(METHODS), metavar="METHOD", help="Who describes: " + ", ".join(METHODS)
    ),
    agent: Agent = "local",
    describer: Describer = "labels",
    max_rounds: MaxRounds = 10,
    max_tokens: MaxTokens = 800,
    probe_images: ProbeImages = 1000,
    probe_folder: ProbeFolder = None,
    base_url: BaseUrl = None,
    timeout: Timeout = None,
    retries: Retries = None,
    api_key_env: ApiKeyEnv = None,
    out: Annotated[Path, out_option("the run folder (resumed when it matches).")] = Path("maia-describe"),
    device: Device = "cpu",
    seed: Seed = 0,
    overwrite: Overwrite = False,
) -> None:
    """Explain one unit (or one synthetic neuron) by experiment; writes the description and an HTML report."""
    from tinkerlab.maia.runs import DescribeConfig, ExplainConfig, describe_run

    config = DescribeConfig(
        model=model,
        layer=layer,
        unit=unit,
        synthetic=synthetic,
        method=method,
        probe=_probe(probe_images, probe_folder, seed),
        explain=ExplainConfig(
            methods=(method,), agent=agent, describer=describer, max_rounds=max_rounds, max_tokens=max_tokens, seed=seed
        ),
    )
    with connection_environment(base_url=base_url, timeout=timeout, retries=retries, api_key_env=api_key_env):
        record = describe_run(config, out, device=device, overwrite=overwrite)
    typer.echo(f"{record['subject']} ({record['method']}): {record['description'] or '(no description)'}")
    typer.echo(f"predictive evaluation: positive {record['positive']:.3f}, neutral {record['neutral']:.3f}")
    typer.echo(f"report: {record['report']}")


@app.command()
def exemplars(
    model: VisionModelOption = "efficientnet-lite0",
    layer: str = typer.Option("blocks.10", "--layer", help="The layer (an unknown one lists all)."),
    unit: list[int] | None = typer.Option(None, "--unit", min=0, help="Units to picture (repeatable; default all)."),
    probe_images: ProbeImages = 1000,
    probe_folder: ProbeFolder = None,
    k: int = typer.Option(15, "--k", min=1, help="Exemplars per unit."),
    out: Annotated[Path, out_option("the run folder.")] = Path("maia-exemplars"),
    device: Device = "cpu",
    seed: Seed = 0,
    overwrite: Overwrite = False,
) -> None:
    """Top-k probe images with masks for units of a layer (one batched pass over the probe set, cached)."""
    from dataclasses import replace

    from tinkerlab.maia.runs import ExemplarsConfig, exemplars_run

    probe = replace(_probe(probe_images, probe_folder, seed), k=k)
    records = exemplars_run(
        ExemplarsConfig(model, layer, tuple(unit or ()), probe), out, device=device, overwrite=overwrite
    )
    for record in records[:20]:
        values = ", ".join(f"{a:.2f}" for a in record["activations"][:5])
        typer.echo(f"unit {record['unit']}: threshold {record['threshold']:.3f}; top activations {values}, ...")
    typer.echo(f"exemplars of {len(records)} unit(s) written to {out}/outputs")


@app.command()
def synthetic(
    methods: Methods = "experimenter,exemplar,random",
    neuron: list[str] | None = typer.Option(
        None, "--neuron", metavar="NAME", help="Only these synthetic neurons (repeatable; default all 62)."
    ),
    agent: Agent = "local",
    describer: Describer = "labels",
    max_rounds: MaxRounds = 10,
    max_tokens: MaxTokens = 800,
    probe_images: ProbeImages = 1000,
    base_url: BaseUrl = None,
    timeout: Timeout = None,
    retries: Retries = None,
    api_key_env: ApiKeyEnv = None,
    out: Annotated[Path, out_option("the run folder (resumed when it matches).")] = Path("maia-synthetic"),
    executor: ExecutorOption = "local",
    workers: Workers = None,
    seed: Seed = 0,
    overwrite: Overwrite = False,
) -> None:
    """Explain the synthetic neurons and judge the descriptions against their ground truth."""
    from tinkerlab.maia.runs import ExplainConfig, SyntheticConfig, markdown_table, synthetic_run

    config = SyntheticConfig(
        neurons=tuple(neuron or ()),
        probe=_probe(probe_images, None, seed),
        explain=ExplainConfig(
            methods=_methods(methods),
            agent=agent,
            describer=describer,
            max_rounds=max_rounds,
            max_tokens=max_tokens,
            seed=seed,
        ),
    )
    with connection_environment(base_url=base_url, timeout=timeout, retries=retries, api_key_env=api_key_env):
        rows = synthetic_run(config, out, executor=executor, workers=workers, overwrite=overwrite)
    typer.echo(markdown_table(rows))
    typer.echo(f"results written to {out}/outputs")


@app.command()
def evaluate(
    model: VisionModelOption = "efficientnet-lite0",
    layer: list[str] | None = typer.Option(None, "--layer", help="Layers (repeatable; default blocks.10, blocks.14)."),
    units: int = typer.Option(10, "--units", min=1, help="Units drawn per layer (with --seed)."),
    unit: list[int] | None = typer.Option(None, "--unit", min=0, help="These units of every layer instead."),
    methods: Methods = "experimenter,exemplar,random",
    agent: Agent = "local",
    describer: Describer = "labels",
    max_rounds: MaxRounds = 10,
    max_tokens: MaxTokens = 800,
    probe_images: ProbeImages = 1000,
    probe_folder: ProbeFolder = None,
    base_url: BaseUrl = None,
    timeout: Timeout = None,
    retries: Retries = None,
    api_key_env: ApiKeyEnv = None,
    out: Annotated[Path, out_option("the run folder (resumed when it matches).")] = Path("maia-evaluate"),
    device: Device = "cpu",
    executor: ExecutorOption = "local",
    workers: Workers = None,
    seed: Seed = 0,
    overwrite: Overwrite = False,
) -> None:
    """Predictive evaluation of units: activations on images made from each method's description."""
    from tinkerlab.maia.runs import EvaluateConfig, ExplainConfig, evaluate_run, markdown_table

    config = EvaluateConfig(
        model=model,
        layers=tuple(layer or ("blocks.10", "blocks.14")),
        units=units,
        unit_ids=tuple(unit or ()),
        unit_seed=seed,
        probe=_probe(probe_images, probe_folder, seed),
        explain=ExplainConfig(
            methods=_methods(methods),
            agent=agent,
            describer=describer,
            max_rounds=max_rounds,
            max_tokens=max_tokens,
            seed=seed,
        ),
    )
    with connection_environment(base_url=base_url, timeout=timeout, retries=retries, api_key_env=api_key_env):
        rows = evaluate_run(config, out, device=device, executor=executor, workers=workers, overwrite=overwrite)
    typer.echo(markdown_table(rows))
    typer.echo(f"results written to {out}/outputs")


Classes = Annotated[
    str,
    typer.Option("--classes", metavar="A,B", help="The two object kinds that are the classes (e.g. circle,triangle)."),
]
Cues = Annotated[
    str, typer.Option("--cues", metavar="A,B", help="The background that goes with each class in training.")
]
TrainImages = Annotated[int, typer.Option("--train-images", min=1, help="Training images of the classifier.")]
TrainAgree = Annotated[
    float, typer.Option("--train-agree", min=0.0, max=1.0, help="Share of training images whose background agrees.")
]
Hidden = Annotated[int, typer.Option("--hidden", min=1, help="Channels of the classifier's hidden (explained) layer.")]
Epochs = Annotated[int, typer.Option("--epochs", min=1, help="Training epochs.")]
Draws = Annotated[int, typer.Option("--draws", min=1, help="Random draws of the control.")]


def _pair(text: str, what: str) -> tuple[str, str]:
    from tinkerlab.core.errors import InputError

    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    if len(parts) != 2:
        raise InputError(f"{what} takes two comma-separated names (e.g. circle,triangle), got {text!r}")
    return parts  # type: ignore[return-value]


def _cue_data(
    classes: str, cues: str, train: int, agree: float, test: int, probe: int, hidden: int, epochs: int, seed: int
):
    from tinkerlab.maia.applications import CueData

    return CueData(
        classes=_pair(classes, "--classes"),
        cues=_pair(cues, "--cues"),
        train=train,
        train_agree=agree,
        test=test,
        probe=probe,
        hidden=hidden,
        epochs=epochs,
        seed=seed,
    )


@app.command()
def spurious(
    classes: Classes = "circle,triangle",
    cues: Cues = "grass,sand",
    train_images: TrainImages = 1000,
    train_agree: TrainAgree = 0.95,
    test_images: int = typer.Option(300, "--test-images", min=1, help="Images per test split."),
    probe_images: ProbeImages = 300,
    hidden: Hidden = 32,
    epochs: Epochs = 30,
    agent: str | None = typer.Option(
        None,
        "--agent",
        parser=Spec(CHAT_MODEL_FORMS, check=False),
        metavar="SPEC",
        help="Describe units with the chat agent on this model (default: the API-free experimenter).",
    ),
    describer: Describer = "labels",
    draws: Draws = 10,
    base_url: BaseUrl = None,
    timeout: Timeout = None,
    retries: Retries = None,
    api_key_env: ApiKeyEnv = None,
    out: Annotated[Path, out_option("the run folder (resumed when it matches).")] = Path("maia-spurious"),
    device: Device = "cpu",
    seed: Seed = 0,
    overwrite: Overwrite = False,
) -> None:
    """Train a classifier with a planted background cue, remove the units the describer finds responding to the
    cue, and compare balanced accuracy on cue-flipped data with removing as many random units."""
    from tinkerlab.maia.applications import SpuriousConfig, spurious_run, spurious_table

    data = _cue_data(classes, cues, train_images, train_agree, test_images, probe_images, hidden, epochs, seed)
    config = SpuriousConfig(
        data=data, method="agent" if agent else "experimenter", agent=agent or "local", describer=describer, draws=draws
    )
    with connection_environment(base_url=base_url, timeout=timeout, retries=retries, api_key_env=api_key_env):
        record = spurious_run(config, out, device=device, overwrite=overwrite)
    typer.echo(f"cue units: {', '.join(map(str, record['cue_units'])) or 'none found'}")
    typer.echo(spurious_table(record))
    typer.echo(f"results written to {out}/outputs")


@app.command()
def misclassified(
    classes: Classes = "circle,triangle",
    cues: Cues = "grass,sand",
    train_images: TrainImages = 1000,
    train_agree: TrainAgree = 0.95,
    split_images: int = typer.Option(400, "--split-images", min=2, help="Images of the naming and evaluation splits."),
    hidden: Hidden = 32,
    epochs: Epochs = 30,
    describer: Describer = "labels",
    agent: str | None = typer.Option(
        None,
        "--agent",
        parser=Spec(CHAT_MODEL_FORMS, check=False),
        metavar="SPEC",
        help="A chat model names the failure mode from the described images (default: concept counts).",
    ),
    max_rules: int = typer.Option(2, "--max-rules", min=1, help="Most concept rules the failure mode may join."),
    draws: Draws = 20,
    base_url: BaseUrl = None,
    timeout: Timeout = None,
    retries: Retries = None,
    api_key_env: ApiKeyEnv = None,
    out: Annotated[Path, out_option("the run folder (resumed when it matches).")] = Path("maia-misclassified"),
    device: Device = "cpu",
    seed: Seed = 0,
    overwrite: Overwrite = False,
) -> None:
    """Name a failure mode of the cue classifier from described errors, flag inputs by it, and report the flags'
    precision against the base error rate (and random flags), and their recall."""
    from tinkerlab.maia.applications import MisclassifiedConfig, misclassified_run, misclassified_table

    data = _cue_data(classes, cues, train_images, train_agree, 1, 1, hidden, epochs, seed)
    config = MisclassifiedConfig(
        data=data, describer=describer, agent=agent, split=split_images, max_rules=max_rules, draws=draws
    )
    with connection_environment(base_url=base_url, timeout=timeout, retries=retries, api_key_env=api_key_env):
        record = misclassified_run(config, out, device=device, overwrite=overwrite)
    typer.echo(f"failure mode: {record['failure_mode']}")
    typer.echo(misclassified_table(record))
    typer.echo(f"results written to {out}/outputs")
