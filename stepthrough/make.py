"""What `stepthrough build`, `serve` and `precompute` do, as library functions; the commands only
read their options and print what was made.

Every warning goes through `log` (the one channel); under `strict` each function stops at its next
checkpoint once any was said: before a render, and before the site is written. Torch-free: the model
stack is imported only when something must be rendered.
"""

from __future__ import annotations

import importlib.util
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from stepthrough import log
from stepthrough.errors import StepthroughError, UsageError

if TYPE_CHECKING:  # the command line imports this module first: no Jinja2 or content parsing at --help
    from stepthrough.content import Content
    from stepthrough.site.build import BundleState

MODEL_STACK = ("torch", "diffusers", "transformers", "sklearn")  # what [model] installs; build needs none
MODEL_INSTALL = 'pip install "stepthrough[model]"'
BUILTIN_CPU_BATCH = 16  # trajectories per batch when `build` renders the builtin model's frames


def require_model_stack(what: str) -> None:
    """Say in one line which install brings the model stack, when `what` needs it and it is missing."""
    for name in MODEL_STACK:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # ValueError: blocked (None in sys.modules)
            found = False
        if not found:
            raise StepthroughError(
                f"{what} needs the model stack ({name} is not installed); install it with: {MODEL_INSTALL}"
            )


def build_project(
    content_dir: Path,
    bundles_dir: Path,
    out_dir: Path,
    *,
    replace: bool = False,
    yes: bool = False,
    strict: bool = False,
    progress: bool = False,
) -> Path:
    """Check the content, render what its bundle lacks (builtin model only), check the notes' claims
    against the pictures, and write the site into `out_dir`; return that folder.

    `replace`: render over a bundle that another model made; `yes`: render above the cost limit;
    `strict`: any warning stops the build, before the render or before the site is written."""
    from stepthrough import checks, locale
    from stepthrough.content import load_content
    from stepthrough.site import build as site  # looked up at the call: a test may plant a bug in it
    from stepthrough.site import languages

    if languages.several(content_dir):  # each language with these same checks, from one bundle
        return build_languages(
            content_dir, bundles_dir, out_dir, replace=replace, yes=yes, strict=strict, progress=progress
        )
    from stepthrough.site.claims import check_claims
    from stepthrough.site.markdown import Markdown

    with log.tally() as warned:
        content = load_content(content_dir)
        markdown = Markdown(content.site.allow_html)  # the site's own, so raw HTML is parsed once
        log.warnings(checks.unknown_prompts(content))
        log.warnings(checks.raw_html(content, markdown))
        log.warnings(locale.problems(content.site.language))  # phrases shown in English instead
        log.stop_if_strict(warned, strict)  # before the render, which can take minutes
        bundle_dir = bundles_dir / content.site.bundle
        log.detail(f"content {content_dir}, bundle {bundle_dir}, site {out_dir}")
        state = complete_bundle(
            content, content_dir, bundles_dir, replace=replace, yes=yes, progress=progress
        )
        log.warnings(checks.unused_trajectories(state.plan, bundle_dir, state.manifest))
        if state.manifest is not None:
            log.warnings(check_claims(content, bundle_dir, state.manifest, state.plan))
        log.stop_if_strict(warned, strict)  # before anything is written
        return site.build_site(content, bundle_dir, out_dir, state=state, markdown=markdown)


def build_languages(
    content_dir: Path,
    bundles_dir: Path,
    out_dir: Path,
    *,
    replace: bool = False,
    yes: bool = False,
    strict: bool = False,
    progress: bool = False,
) -> Path:
    """build_project for content with several languages: every language from one bundle
    (rendered once, for all), with the same checks, the default at the site's root, the others
    under `<code>/`, the whole written atomically. Returns the site folder."""
    from stepthrough import checks, locale
    from stepthrough.site.claims import check_claims
    from stepthrough.site.languages import bundle_content, load_languages, own_part, write_site
    from stepthrough.site.markdown import Markdown

    with log.tally() as warned:
        languages = load_languages(content_dir)
        union = bundle_content(languages)
        markdowns = {lang.code: Markdown(lang.content.site.allow_html) for lang in languages}
        log.warnings(checks.unknown_prompts(union))
        for lang in languages:
            log.warnings(checks.raw_html(own_part(lang), markdowns[lang.code]))
            log.warnings(locale.problems(lang.code))
            if lang.fallback:
                names = ", ".join(sorted(p.stem for p in lang.fallback)[:4]) + (
                    " …" if len(lang.fallback) > 4 else ""
                )
                log.info(
                    f"{lang.code}/: {len(lang.fallback)} of {len(lang.content.sections)} sections are not "
                    f"translated yet, shown in {languages[0].code}: {names}"
                )
        log.stop_if_strict(warned, strict)
        state = complete_bundle(
            union, Path(content_dir), bundles_dir, replace=replace, yes=yes, progress=progress
        )
        bundle_dir = Path(bundles_dir) / union.site.bundle
        log.warnings(checks.unused_trajectories(state.plan, bundle_dir, state.manifest))
        if state.manifest is not None:
            claims = [
                w for lang in languages for w in check_claims(own_part(lang), bundle_dir, state.manifest)
            ]
            log.warnings(list(dict.fromkeys(claims)))
        log.stop_if_strict(warned, strict)
        return write_site(languages, bundle_dir, Path(out_dir), state, markdowns)


def complete_bundle(
    content: Content, content_dir: Path, bundles_dir: Path, *, replace: bool, yes: bool, progress: bool
) -> BundleState:
    """The content's bundle, with what it lacks rendered first when the model is builtin (on the CPU);
    for another model, an error that names the `stepthrough precompute` command to run."""
    from stepthrough.site.build import bundle_state

    bundle_dir = bundles_dir / content.site.bundle
    state = bundle_state(content, bundle_dir)
    other = state.manifest.model.get("id") if state.manifest is not None else None
    if other == content.site.model:
        other = None  # the bundle is by the model site.toml names
    if other is not None and not replace:
        raise StepthroughError(
            f"{bundle_dir}: rendered by model '{other}', but {content.root / 'site.toml'} names model "
            f"'{content.site.model}'. To build from this bundle, set model = \"{other}\" in site.toml; "
            f"to render it again with '{content.site.model}' instead (replacing its pictures), run: "
            + render_command(content_dir, content.site.model, bundles_dir, replace=True)
        )
    stale = other is not None or builtin_is_stale(content, state)
    if state.complete and not stale:
        return state
    if content.site.model != "builtin":
        command = render_command(content_dir, content.site.model, bundles_dir, replace=other is not None)
        raise StepthroughError(
            f"{bundle_dir}: {len(state.missing)} trajectories and {len(state.missing_projections)} projections "
            "that the content needs are not rendered yet.\n"
            f"Render them on a machine with a GPU, then build again:\n  {command}"
        )
    cost = check_budget(content, state.plan.jobs if stale else state.missing, "builtin", yes)
    if other is not None:
        log.info(f"Replacing {bundle_dir}, by '{other}', with the builtin model's pictures: {cost} …")
    elif stale:
        log.info(f"The builtin model changed since {bundle_dir} was rendered; rendering {cost} again …")
    else:
        log.info(
            f"Rendering {cost.trajectories} trajectories with the builtin model on the CPU: {cost.estimate} …"
        )
    require_model_stack("Rendering with the builtin model")
    from stepthrough.precompute.run import precompute

    if not progress:
        log.quiet_library_bars()
    # 16 trajectories a batch: on a CPU, a third fewer passes than 8 and each row ~8% cheaper
    precompute(
        content, bundles_dir, device="cpu", progress=progress, replace=replace, batch_size=BUILTIN_CPU_BATCH
    )
    return bundle_state(content, bundle_dir)


def precompute_project(
    content_dir: Path,
    bundles_dir: Path,
    *,
    model: str | None = None,
    revision: str | None = None,
    device: str = "cpu",
    dtype: str | None = None,
    preview_vae: str | None = None,
    image_size: int | None = None,
    batch_size: int = 8,
    progress: bool = False,
    replace: bool = False,
    yes: bool = False,
    strict: bool = False,
) -> Path:
    """Render every trajectory the content needs into its bundle (`model`: default site.toml's);
    return the bundle's folder. `strict`: any warning stops it before the model loads."""
    from stepthrough import checks
    from stepthrough.devices import check_device
    from stepthrough.site.build import bundle_state

    with log.tally() as warned:
        content = _load_for_precompute(content_dir)
        require_model_stack("stepthrough precompute")
        from stepthrough.precompute.models import load_model
        from stepthrough.precompute.run import precompute
        from stepthrough.precompute.shards import device_for_rank

        device = check_device(device_for_rank(device))
        log.warnings(checks.unknown_prompts(content, model=model))
        log.stop_if_strict(warned, strict)
        name = model or content.site.model
        # Before the model loads: what is not in the bundle yet (all of it for another model's bundle).
        state = bundle_state(content, bundles_dir / content.site.bundle)
        same = state.manifest is not None and state.manifest.model.get("id") == name
        cost = check_budget(content, state.missing if same and not replace else state.plan.jobs, name, yes)
        log.info(f"Rendering up to {cost} …")
        if not progress:
            log.quiet_library_bars()
        loaded = load_model(
            name,
            device=device,
            revision=revision or content.site.revision,
            dtype=dtype,
            preview_vae=preview_vae,
            image_size=image_size,
        )
        return precompute(
            content,
            bundles_dir,
            model=loaded,
            device=device,
            batch_size=batch_size,
            progress=progress,
            replace=replace,
        )


def render_cost_line(content_dir: Path, batch_size: int, model: str | None = None) -> str:
    """What `precompute --dry-run` prints: the content's trajectories, model evaluations and forward passes."""
    from stepthrough.plan import plan_content
    from stepthrough.precompute.cost import forward_passes, model_evaluations, render_cost

    content = _load_for_precompute(content_dir)
    model = model or content.site.model
    jobs = plan_content(content).jobs
    cost = render_cost(jobs, model)
    return (
        f"{len(jobs)} trajectories, {model_evaluations(jobs)} model evaluations "
        f"(one per step per trajectory, two for Heun; the conditional and unconditional inputs share one), "
        f"in {forward_passes(jobs, batch_size, mixed=content.site.model == 'builtin')} batched forward "
        f"passes with --batch-size {batch_size}"
        + (f"; {cost.estimate} with the {model} model on 2 CPU cores" if cost.estimate else "")
    )


def _load_for_precompute(content_dir: Path) -> Content:
    """The content, and a warning when accelerate started one process where more were asked for."""
    from stepthrough.devices import launcher_warning
    from stepthrough.site.languages import load_for_bundle

    content = load_for_bundle(content_dir)  # every language's pictures: they share one bundle
    if warning := launcher_warning():
        log.warning(warning)
    return content


def check_budget(content: Content, jobs: Sequence, model: str, yes: bool):
    """Say what the render costs (count, time, disk); above the limit, stop unless `yes`.
    Returns the cost, for the caller's own line."""
    from stepthrough.precompute.cost import MAX_TRAJECTORIES, render_cost

    cost = render_cost(jobs, model)
    if cost.too_much and not yes:
        wanted = set(jobs)
        most = max(content.sections, key=lambda s: len(wanted.intersection(s.jobs)))
        raise UsageError(
            f"{most.path}: the content asks to render {cost}, more than {MAX_TRAJECTORIES:,} trajectories "
            "or an hour; make the sweeps smaller, or add --yes to render them all"
        )
    return cost


def render_command(content_dir: Path, model: str, bundles_dir: Path, replace: bool) -> str:
    """The command that renders the content's bundle with `model`."""
    if model == "builtin":
        words = ["stepthrough", "build", "--content", str(content_dir), "--bundles", str(bundles_dir)]
    else:
        words = [
            "stepthrough",
            "precompute",
            "--content",
            str(content_dir),
            "--model",
            model,
            "--device",
            "cuda",
        ]
        words += ["--bundles", str(bundles_dir)]
    return shlex.join([*words, *(["--replace"] if replace else [])])


def builtin_is_stale(content: Content, state: BundleState) -> bool:
    """True when the bundle was rendered by an older builtin model than the one installed."""
    if content.site.model != "builtin" or state.manifest is None:
        return False
    from stepthrough.builtin.fingerprint import builtin_weights_sha256

    return state.manifest.model.get("weights_sha256") != builtin_weights_sha256()
