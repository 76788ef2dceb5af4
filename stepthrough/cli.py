"""The `stepthrough` command line. Heavy imports (torch, diffusers) happen only in the commands that need them."""

from __future__ import annotations

import importlib
import os
import shlex
import time
from pathlib import Path
from typing import ClassVar

import click

from stepthrough import __version__

# OpenMP threads that wait by spinning for libgomp's default 300,000 turns make CPU sampling 5–10×
# slower whenever another process shares the cores; waiting passively (OMP_WAIT_POLICY=PASSIVE) halves
# the speed on idle cores instead. A short spin is fast in both cases (one 25-step builtin trajectory
# on 2 cores, idle / beside 2 busy processes: default 1.9 / 19.4 s, passive 3.6 / 3.0 s, 100,000
# spins 1.7 / 4.3 s). Must be set before torch loads; a user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "100000")
from stepthrough import log, make, project
from stepthrough.errors import StepthroughError, UsageError, from_os_error
from stepthrough.make import require_model_stack

DEFAULT_CONTENT = (
    Path(__file__).resolve().parent / "default_content"
)  # the explainer that ships in the package


def _content_dir(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path:
    """The folder given, else ./content (or the content folder the current folder is, or is inside),
    else the default explainer that ships with stepthrough."""
    if value is not None:
        return value
    found = project.default_content()
    if found.is_dir():
        return found
    log.info(
        "No content/ folder here: using the default explainer that ships with stepthrough "
        "(`stepthrough new FOLDER` starts your own)."
    )
    return DEFAULT_CONTENT


def folder_option(flag: str, name: str, help: str, file_okay: bool = False, **settings):
    """A `--flag FOLDER` option whose value is a Path (`file_okay`: a file too, for the command to refuse)."""
    settings.setdefault("show_default", "default" in settings)
    return click.option(
        flag, name, type=click.Path(path_type=Path, file_okay=file_okay), help=help, **settings
    )


CONTENT = folder_option(
    "--content",
    "content_dir",
    "Content folder: site.toml and sections/*.md (the current folder, when it is one).  "
    "[default: content, else the default explainer]",
    callback=_content_dir,
)
BUNDLES = folder_option(
    "--bundles",
    "bundles_dir",
    "Folder that holds one sub-folder per bundle (site.toml's `bundle` names it).",
    default=project.default_bundles,
    show_default="bundles",
)


REPLACE = click.option(
    "--replace",
    is_flag=True,
    help="Render into the bundle even when another model made it: its pictures are replaced.",
)


class LazyGroup(click.Group):
    """A group whose heavy commands are imported only when invoked (`train` pulls in torch)."""

    lazy: ClassVar[dict[str, tuple[str, str, str]]] = {
        "train": (
            "stepthrough.builtin.train",
            "command",
            "Train the builtin emoji model and export its weights.",
        ),
        "prompts": (
            "stepthrough.commands.prompts",
            "command",
            "List what the builtin model learned to draw, or search it by word.",
        ),
        "serve": (
            "stepthrough.commands.serve",
            "command",
            "Preview the site while you write: rebuild on every change and reload the page.",
        ),
        "train-particles": (
            "stepthrough.particles.train",
            "command",
            "Train the tiny 2-D model behind the reverse-process particles.",
        ),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attr, _ = self.lazy[name]
            require_model_stack(f"stepthrough {name}")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except OSError as exc:  # the machine, not the user's files: one line, not a traceback
            raise from_os_error(exc) from exc

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list:
        """Command names without importing the lazy ones (completing `tr` must not load torch)."""
        from click.shell_completion import CompletionItem

        shorts = {name: short for name, (_, _, short) in self.lazy.items()}
        shorts |= {name: cmd.get_short_help_str() for name, cmd in self.commands.items() if not cmd.hidden}
        items = [CompletionItem(name, help=shorts[name]) for name in sorted(shorts) if name.startswith(incomplete)]
        return items + click.Command.shell_complete(self, ctx, incomplete)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, self.commands[name].get_short_help_str(60)) for name in super().list_commands(ctx)]
        rows += [(name, short) for name, (_, _, short) in self.lazy.items()]
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))


STRICT = click.option(
    "--strict",
    is_flag=True,
    help="Treat warnings as errors (prompts the builtin model never learned, unused bundle trajectories).",
)

YES = click.option(
    "--yes",
    is_flag=True,
    help="Render even when the content asks for more than 2,000 trajectories or an hour of CPU.",
)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stepthrough")
@click.option("-q", "--quiet", is_flag=True, help="Print only warnings and errors.")
@click.option("-v", "--verbose", count=True, help="Print more detail.")
def main(quiet: bool, verbose: int) -> None:
    """Turn a text-to-image diffusion model into a scroll-driven explainer site that needs no server.

    \b
    Typical use:
      stepthrough build                  # content/ → build/site/ (renders the builtin model's frames if missing)
      stepthrough precompute --model M   # render a bundle with model M (a GPU helps for real models)
      stepthrough serve                  # preview while you write: rebuilds and reloads the page on each save
      stepthrough prompts cat            # what the builtin model learned to draw
      stepthrough check bundles/NAME     # verify a bundle's files against its manifest

    Shell completion: eval "$(_STEPTHROUGH_COMPLETE=bash_source stepthrough)" (zsh_source, fish_source).
    """
    log.configure(-1 if quiet else verbose)


@main.command()
@CONTENT
@folder_option(
    "--out",
    "out_dir",
    "Where the site goes; replaced as a whole only when the build succeeds.",
    file_okay=True,  # build_site says why a file or a folder of other files will not do
    default=project.default_out,
    show_default="build/site",
)
@BUNDLES
@click.option(
    "--no-progress", is_flag=True, help="Hide progress bars, also the libraries' (they show only on a terminal)."
)
@REPLACE
@click.option(
    "--zip", "make_zip", is_flag=True, help="Also write the site as one .zip beside it (for USB sticks)."
)
@click.option(
    "--single-file",
    "make_single_file",
    is_flag=True,
    help="Also write the site as one self-contained .html beside it (to email or open anywhere).",
)
@click.option(
    "--language",
    "export_language",
    default=None,
    metavar="CODE",
    help="With --zip or --single-file: export only this language of a site with several (default: every language).",
)
@YES
@STRICT
def build(
    content_dir: Path,
    out_dir: Path,
    bundles_dir: Path,
    no_progress: bool,
    replace: bool,
    make_zip: bool,
    make_single_file: bool,
    export_language: str | None = None,
    yes: bool = False,
    strict: bool = False,
) -> None:
    """Build the static site from the content and its precomputed bundle.

    When the bundle is missing trajectories and the content's model is `builtin`, they are
    rendered first on the CPU. For any other model, this prints the `stepthrough precompute`
    command to run on a GPU machine. Notes that claim a fact about a picture ("mud", "too
    strong") are checked against the pictures; each one that does not hold is printed.
    """
    if export_language is not None and not (make_zip or make_single_file):
        raise UsageError("--language picks the language that --zip or --single-file export; add one of them")
    started = time.perf_counter()
    progress = log.show_progress(no_progress)
    site = make.build_project(
        content_dir, bundles_dir, out_dir, replace=replace, yes=yes, strict=strict, progress=progress
    )
    log.done(f"Built {site / 'index.html'} in {time.perf_counter() - started:.1f} s. Open it in a browser.")
    from stepthrough.site.languages import export

    for made, carrier in export(site, export_language, make_zip=make_zip, make_single_file=make_single_file):
        if made.suffix == ".zip":
            log.done(f"Wrote {made} ({_size(made)}): unzip it anywhere and open index.html.")
        elif carrier is None:
            log.done(f"Wrote {made} ({_size(made)}): one page with every picture inside; open it anywhere.")
        else:
            log.done(f"Wrote {made} ({_size(made)}): that page alone ({carrier.name} carries it too).")


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


@main.command()
@CONTENT
@click.option(
    "--model",
    default=None,
    help="`builtin`, a diffusers hub id, or a local folder. Default: site.toml's model.",
)
@click.option("--revision", default=None, help="Hub revision (branch, tag or commit). Default: site.toml's.")
@click.option(
    "--device",
    default="cpu",
    show_default=True,
    help="Where the model runs: cpu, cuda or cuda:N (cuda under torchrun or accelerate: each process's own GPU).",
)
@click.option(
    "--dtype",
    type=click.Choice(["float32", "float16", "bfloat16"]),
    default=None,
    help="Weights' precision. Default: float32 on CPU, bfloat16 (or float16) on CUDA.",
)
@click.option(
    "--preview-vae",
    default=None,
    help="A tiny autoencoder (AutoencoderTiny, hub id or folder) for intermediate frames; "
    "the final frame still uses the model's own VAE.",
)
@click.option(
    "--size",
    "image_size",
    type=click.IntRange(8, 4096),
    default=None,
    help="Picture side in pixels. Default: the model's native size.",
)
@BUNDLES
@click.option(
    "--batch-size", default=8, show_default=True, type=click.IntRange(1, 1024), help="Trajectories per batch."
)
@click.option(
    "--no-progress", is_flag=True, help="Hide progress bars, also the libraries' (they show only on a terminal)."
)
@REPLACE
@click.option("--dry-run", is_flag=True, help="Print what the content costs to render, and stop.")
@YES
@STRICT
def precompute(
    content_dir: Path,
    model: str | None,
    revision: str | None,
    device: str,
    dtype: str | None,
    preview_vae: str | None,
    image_size: int | None,
    bundles_dir: Path,
    batch_size: int,
    no_progress: bool,
    replace: bool,
    dry_run: bool,
    yes: bool = False,
    strict: bool = False,
) -> None:
    """Render every trajectory the content needs into its bundle and print the bundle's path.

    Trajectories already in the bundle whose files verify are skipped, so an interrupted run
    resumes where it stopped. Under `torchrun` or `accelerate launch` (RANK and WORLD_SIZE set),
    each process renders its share into its own shard, and the last one to finish merges them.
    """
    if dry_run:
        click.echo(make.render_cost_line(content_dir, batch_size, model))
        return
    bundle_dir = make.precompute_project(
        content_dir,
        bundles_dir,
        model=model,
        revision=revision,
        device=device,
        dtype=dtype,
        preview_vae=preview_vae,
        image_size=image_size,
        batch_size=batch_size,
        progress=log.show_progress(no_progress),
        replace=replace,
        yes=yes,
        strict=strict,
    )
    click.echo(str(bundle_dir))


@main.command()
@click.argument("bundle_dir", type=click.Path(path_type=Path, file_okay=False))
def merge(bundle_dir: Path) -> None:
    """Join the shard manifests that ranks wrote (in BUNDLE_DIR/shards/) into the bundle's manifest.

    The last rank to finish does this by itself; run it by hand after restarting a rank that died.
    """
    require_model_stack("stepthrough merge")
    from stepthrough.precompute.shards import merge_bundle

    manifest = merge_bundle(bundle_dir)
    click.echo(f"{bundle_dir}: merged, {len(manifest.trajectories)} trajectories")


@main.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--title", default=None, help="The site's title.  [default: from FOLDER's name]")
@click.option(
    "--language",
    default="en",
    show_default=True,
    metavar="CODE",
    help="The content's language: site.toml's `language`, and the starter text in it (en, es, fr, de, pt, ar).",
)
def new(folder: Path, title: str | None, language: str = "en") -> None:
    """Start a new explainer: FOLDER/content with a site.toml, one section and a practice page to edit.

    Then `cd FOLDER && stepthrough build` (or `stepthrough serve` to preview while you write).
    """
    import re

    from stepthrough import starter
    from stepthrough.content import LANGUAGE_CODE, LANGUAGE_HINT

    if not re.fullmatch(LANGUAGE_CODE, language):
        raise UsageError(f"--language {language}: expected {LANGUAGE_HINT}")
    if folder.exists() and any(folder.iterdir()):
        raise StepthroughError(f"{folder}: already exists and is not empty; choose a new folder name")
    bundle = "".join(c if c.isalnum() or c in "._-" else "-" for c in folder.resolve().name) or "explainer"
    title = title or _title_from(folder.resolve().name)
    for name, text in starter.files(language, title, bundle).items():
        (folder / "content" / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "content" / name).write_text(text, encoding="utf-8")
    if starter.starter(language) is starter.STARTERS["en"] and not language.lower().startswith("en"):
        log.info(f"No starter text in {language!r} yet: the section and practice page are in English to translate.")
    click.echo(f"Created {folder / 'content'}. Next: cd {shlex.quote(str(folder))} && stepthrough build")


def _title_from(name: str) -> str:
    """A title from a folder name: "kitchen-explainer" → "Kitchen explainer"; "Kitchen Explainer" stays."""
    words = name.replace("_", " ").replace("-", " ").split()
    title = " ".join(words) or "My explainer"
    return title[0].upper() + title[1:]


@main.command()
@click.argument("bundle_dir", type=click.Path(path_type=Path))  # read_manifest explains a file
def check(bundle_dir: Path) -> None:
    """Verify a bundle: every file its manifest lists is present with the right sha256.

    Exits 1 and lists the problems otherwise.
    """
    from stepthrough.bundle import check_bundle, read_manifest
    from stepthrough.errors import printable
    from stepthrough.widgets import RECORDERS  # noqa: F401  (registers the recordings a manifest may hold)
    from stepthrough.widgets.base import projection_kinds, read_projection

    problems = check_bundle(bundle_dir)
    manifest = read_manifest(bundle_dir)
    if not problems:  # every file is whole and of its format: read each projection as its kind
        kinds = projection_kinds()
        for pid, projection in manifest.projections.items():
            kind = kinds.get(projection.kind)
            try:
                if kind is None:
                    raise StepthroughError(
                        f"projections.{pid}.kind: {projection.kind!r} is not one this stepthrough draws "
                        f"({', '.join(sorted(kinds))})"
                    )
                read_projection(bundle_dir, manifest, pid, kind)
            except StepthroughError as exc:
                problems.append(exc.message.removeprefix(f"{bundle_dir}/"))
    if problems:
        for problem in problems:  # names from the bundle: shown, never obeyed
            click.echo(printable(f"{bundle_dir}: {problem}", newlines=False), err=True)
        raise SystemExit(1)
    click.echo(
        f"{bundle_dir}: OK, {len(manifest.trajectories)} trajectories, {len(manifest.files)} files verified"
    )
