"""The planner: sweeps expand to jobs, shared jobs are rendered once, ids follow content."""

from __future__ import annotations

from conftest import write_content

from stepthrough.bundle.ids import Job
from stepthrough.content import load_content
from stepthrough.plan import plan_content

SWEEP = "---\ntitle: {t}\nwidget: stepper\nsweep:\n  prompts: {p}\n  seeds: {s}\n  steps: [4]\n---\n"
FINGERPRINT = {"model": {"id": "m", "weights_sha256": "abc"}, "scheduler": {"class": "DDIMScheduler"}}


def test_sweeps_expand_to_every_combination_and_shared_jobs_are_planned_once(tmp_path):
    root = write_content(
        tmp_path / "c",
        {
            "01-a.md": SWEEP.format(t="A", p='["cat", "dog"]', s="[1, 2]"),
            "02-b.md": SWEEP.format(t="B", p='["dog", "fox"]', s="[2]"),
        },
    )
    plan = plan_content(load_content(root))
    assert len(plan.sections["a"]) == 4 and len(plan.sections["b"]) == 2
    assert len(plan.jobs) == 5  # "dog" seed 2 is shared
    assert Job("dog", 2, 4, 5.0) in plan.sections["a"] and Job("dog", 2, 4, 5.0) in plan.sections["b"]


def test_job_id_is_stable_and_changes_with_any_input():
    job = Job("cat", 1, 4, 5.0)
    assert job.content_id(FINGERPRINT) == Job("cat", 1, 4, 5.0).content_id(dict(FINGERPRINT))
    others = [
        Job("cats", 1, 4, 5.0),
        Job("cat", 2, 4, 5.0),
        Job("cat", 1, 5, 5.0),
        Job("cat", 1, 4, 5.5),
    ]
    ids = {o.content_id(FINGERPRINT) for o in others} | {job.content_id(FINGERPRINT)}
    assert len(ids) == 5
    retrained = {**FINGERPRINT, "model": {"id": "m", "weights_sha256": "def"}}
    assert job.content_id(retrained) != job.content_id(FINGERPRINT)


def test_word_by_word_expands_a_prompt_into_its_growing_prefixes(tmp_path):
    text = "---\ntitle: W\nwidget: stepper\nsweep:\n  prompts: [a red apple]\n  word_by_word: true\n---\n"
    plan = plan_content(load_content(write_content(tmp_path / "c", {"01-w.md": text})))
    assert [job.prompt for job in plan.sections["w"]] == ["", "a", "a red", "a red apple"]


def test_blend_expands_into_one_job_per_weight_towards_the_second_prompt(tmp_path):
    text = "---\ntitle: B\nwidget: stepper\nsweep:\n  prompts: [cat]\n  towards: dog\n  blend: [0, 0.5, 1]\n---\n"
    plan = plan_content(load_content(write_content(tmp_path / "c", {"01-b.md": text})))
    assert [(j.prompt, j.towards, j.blend) for j in plan.sections["b"]] == [
        ("cat", "dog", 0.0),
        ("cat", "dog", 0.5),
        ("cat", "dog", 1.0),
    ]
    default = text.replace("  blend: [0, 0.5, 1]\n", "")
    plan = plan_content(load_content(write_content(tmp_path / "d", {"01-b.md": default})))
    assert [j.blend for j in plan.sections["b"]] == [0.0, 0.25, 0.5, 0.75, 1.0]
