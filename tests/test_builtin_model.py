"""The builtin emoji model: its data, one training step, and the shipped weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stepthrough.builtin import nets, sources
from stepthrough.builtin.captions import Captions, caption_texts, carrier_pictures, pick_captions
from stepthrough.builtin.config import TrainConfig
from stepthrough.builtin.data import (
    augment,
    build_dataset,
    caption_name,
    captions_for,
    dump_data,
    group_key,
    keywords_for,
)
from stepthrough.builtin.train import ae_loss, lr_at, unet_loss, v_loss_weight

HANDFUL = ["😀", "🐼", "🇯🇵", "🧑‍⚕️", "👨🏽‍⚕️", "👩🏿‍⚕️"]


def test_rendering_draws_each_emoji_centred_on_white():
    ds = build_dataset(HANDFUL)
    pictures = ds.pictures(64)
    assert pictures.shape == (len(HANDFUL), 64, 64, 3)
    assert pictures.dtype == np.uint8
    corners = pictures[:, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners > 240).all()  # white background
    centre = pictures[:, 24:40, 24:40].reshape(len(HANDFUL), -1)
    assert (centre.min(axis=1) < 200).all()  # something drawn in the middle of every picture
    assert len({im.tobytes() for im in pictures}) == len(HANDFUL)


def test_captions_keep_skin_tones_and_genders():
    assert caption_name("👨🏽‍⚕️") == "man health worker: medium skin tone"
    assert caption_name("🇯🇵") == "flag: Japan"
    assert captions_for("🐼")[0] == "panda"
    assert "panda face" in captions_for("🐼")


def test_variants_of_one_emoji_share_a_group_and_its_sampling_share():
    assert group_key("🧑‍⚕️") == group_key("👨🏽‍⚕️") == group_key("👩🏿‍⚕️") == "health worker"
    ds = build_dataset(HANDFUL)
    weights = ds.sample_weights(power=1.0)
    doctors = [i for i, c in enumerate(ds.chars) if group_key(c) == "health worker"]
    assert weights[doctors].sum() == pytest.approx(weights[0])  # 3 variants together = 1 panda


def _styled_dataset():
    """Two styles of the handful: the font as drawn, and a synthetic "inverted" style."""
    drawn = build_dataset(HANDFUL)
    keys = [sources.key_of_char(c) for c in drawn.chars]
    inverted = drawn.images.copy()
    inverted[..., :3] = 255 - inverted[..., :3]
    pictures = {"noto-font": dict(zip(keys, drawn.images)), "inverted": dict(zip(keys, inverted))}
    keywords = {sources.key_of_char("🧑‍⚕️"): ["doctor", "nurse"], sources.key_of_char("🐼"): ["bamboo"]}
    return build_dataset(HANDFUL, pictures, keywords)


def test_every_emoji_is_drawn_in_each_style_and_shares_its_captions_across_styles():
    ds = _styled_dataset()
    assert len(ds) == 2 * len(HANDFUL)
    pandas = [i for i, c in enumerate(ds.chars) if c == "🐼"]
    assert sorted(ds.styles[i] for i in pandas) == ["inverted", "noto-font"]
    assert ds.captions[pandas[0]] == ds.captions[pandas[1]]
    assert "bamboo" in ds.captions[pandas[0]]


def test_keywords_of_a_base_emoji_reach_its_skin_tone_variants():
    keywords = {sources.key_of_char("🧑‍⚕️"): ["doctor", "health worker", "nurse"]}
    assert keywords_for("🧑🏿‍⚕️", keywords) == ["doctor", "nurse"]  # "health worker" is the name already


def test_captions_are_mostly_shared_sometimes_styled_and_sometimes_empty():
    ds = _styled_dataset()
    keywords, styled, texts = caption_texts(ds)
    index = {t: i for i, t in enumerate(texts)}
    assert "a doctor" in index and "a inverted panda" in index
    caps = Captions(
        torch.zeros(0),
        torch.zeros(0),
        torch.zeros(0),
        [index[n] for n in ds.names],
        [[index[a] for a in g] for g in ds.aliases],
        [[index[k] for k in g] for g in keywords],
        [index[s] for s in styled],
        index[""],
    )
    doctor = ds.chars.index("🧑‍⚕️")
    picked = [
        texts[i] for i in pick_captions(caps, np.full(4000, doctor), TrainConfig(), np.random.default_rng(0))
    ]
    share = {t: picked.count(t) / len(picked) for t in set(picked)}
    assert 0.09 < share[""] < 0.15
    assert share["health worker"] > 0.2
    assert share["a noto-font health worker"] > 0.1
    assert share.get("doctor", 0) + share.get("a doctor", 0) > 0.2


def test_a_keyword_trains_its_emoji_in_the_shares_they_have_among_its_pictures():
    from collections import Counter

    ds = _styled_dataset()
    keywords, styled, texts = caption_texts(ds)
    index = {t: i for i, t in enumerate(texts)}
    caps = Captions(torch.zeros(0), torch.zeros(0), torch.zeros(0), [index[n] for n in ds.names],
                    [[index[a] for a in g] for g in ds.aliases], [[index[k] for k in g] for g in keywords],
                    [index[s] for s in styled], index[""])
    carriers = caps.carriers()
    doctor = [i for i, ks in enumerate(ds.keywords) if "doctor" in ks]
    assert sorted(carriers[index["a doctor"]]) == doctor  # every style of every variant that carries it
    assert len(carriers[index[""]]) == len(ds)
    # whichever picture chose "doctor", the trained picture is uniform over those that carry it
    rng = np.random.default_rng(0)
    rows = carrier_pictures(carriers, [index["doctor"]] * 6000, rng)
    counts = Counter(ds.chars[r] for r in rows)
    data = Counter(ds.chars[r] for r in doctor)
    for char, n in data.items():
        assert counts[char] / len(rows) == pytest.approx(n / len(doctor), abs=0.03)
    assert set(counts) == set(data)
    panda = ds.chars.index("🐼")
    assert {ds.chars[r] for r in carrier_pictures(carriers, [index[ds.names[panda]]] * 50, rng)} == {"🐼"}


def test_augmentation_moves_the_picture_but_keeps_its_colours():
    ds = build_dataset(["🍎"])
    rng = np.random.default_rng(0)
    placed = augment(np.repeat(ds.images, 8, axis=0), np.zeros(8, bool), rng)
    plain = ds.pictures(64)[0].astype(float)
    moved = [np.abs(p.astype(float) - plain).mean() for p in placed]
    assert min(moved) > 1  # every placement differs from the plain picture
    red = lambda im: (im[..., 0] > 150) & (im[..., 1] < 100)
    assert all(abs(red(p).mean() - red(plain).mean()) < 0.5 * red(plain).mean() for p in placed)


def test_data_dump_writes_every_picture_and_its_data_card(tmp_path):
    import json

    from PIL import Image

    ds = _styled_dataset()
    assert dump_data(ds, tmp_path) == len(ds)
    records = [json.loads(line) for line in (tmp_path / "captions.jsonl").read_text().splitlines()]
    assert len(records) == len(ds)
    doctor = next(r for r in records if r["concept"] == "🧑‍⚕️" and r["style"] == "inverted")
    assert doctor["captions"][0] == "health worker" and "doctor" in doctor["captions"]
    assert Image.open(tmp_path / doctor["file"]).size == (64, 64)
    assert {"file", "captions", "style", "concept", "license"} <= set(doctor)


def _fixed(loss_fn, *args) -> torch.Tensor:
    torch.manual_seed(1234)  # same timesteps and noise before and after the step
    return loss_fn(*args)


def test_one_unet_training_step_lowers_the_loss_on_a_tiny_batch():
    torch.manual_seed(0)
    cfg = TrainConfig(bf16=False)
    unet = nets.build_unet(nets.unet_config((32, 32), 1, 2, 4, 8))
    scheduler = nets.build_scheduler(nets.scheduler_config())
    z0 = torch.randn(8, 4, 8, 8)
    cond = (torch.randn(8, 6, 384), torch.ones(8, 6), torch.randn(8, 384))
    opt = torch.optim.AdamW(unet.parameters(), lr=1e-3)
    before = _fixed(unet_loss, unet, scheduler, z0, cond, cfg)
    opt.zero_grad()
    before.backward()
    opt.step()
    with torch.no_grad():
        after = _fixed(unet_loss, unet, scheduler, z0, cond, cfg)
    assert after < before


def test_learning_rate_warms_up_after_a_restart_and_settles_at_the_end_of_a_timed_run():
    cfg = TrainConfig(lr=1e-3, warmup_steps=100, cooldown=0.2)
    # resumed from shipped weights at step 5000 with a fresh optimizer: small steps first
    assert lr_at(5000, cfg, warm_from=5000) == pytest.approx(1e-5)
    assert lr_at(5099, cfg, warm_from=5000) == pytest.approx(1e-3)
    # full rate for most of the run, then down to zero over its last fifth
    assert lr_at(9000, cfg, time_left=0.5) == pytest.approx(1e-3)
    assert lr_at(9000, cfg, time_left=0.1) == pytest.approx(5e-4)
    assert lr_at(9000, cfg, time_left=0.0) == 0.0


def test_one_autoencoder_training_step_lowers_the_loss_on_a_tiny_batch():
    torch.manual_seed(0)
    cfg = TrainConfig(bf16=False)
    vae = nets.build_autoencoder(nets.autoencoder_config((8, 16), 4))
    x = torch.from_numpy(build_dataset(HANDFUL[:4]).pictures(32)).permute(0, 3, 1, 2).float() / 127.5 - 1
    opt = torch.optim.AdamW(vae.parameters(), lr=1e-3)
    before = _fixed(ae_loss, vae, x, cfg)
    opt.zero_grad()
    before.backward()
    opt.step()
    with torch.no_grad():
        after = _fixed(ae_loss, vae, x, cfg)
    assert after < before


@pytest.fixture(scope="module")
def builtin():
    from stepthrough.precompute.models.builtin import load_builtin

    torch.set_num_threads(1)
    return load_builtin()


def test_shipped_model_describes_itself(builtin):
    info = builtin.info
    assert info.id == "builtin"
    assert info.image_size == (64, 64)
    assert info.latent_shape == (4, 16, 16)
    assert len(info.weights_sha256) == 64
    assert info.extra["parameters"] > 1_000_000
    assert info.extra["images_seen"] > 0


def test_empty_prompt_is_the_unconditional_input(builtin):
    emb = builtin.encode_prompts(["", "a doctor"])
    assert emb.hidden.shape[0] == 2 and emb.hidden.shape[2] == 384
    assert emb.mask[0].sum() < emb.mask[1].sum()  # "" is just [CLS] [SEP]
    assert emb.pooled.shape == (2, 384)


def test_long_lists_of_captions_get_the_same_vectors_by_the_quick_way(builtin):
    # texts that are no caption of the data card are embedded padded to their batch's longest text
    texts = ["a doctor in a white coat", "a small cat", "", "a smiling face with heart-shaped eyes and rosy cheeks"]
    quick = builtin.text.sentence_vectors(texts)
    full = builtin.encode_prompts(texts).pooled.numpy()
    assert quick.shape == (len(texts), 384)
    np.testing.assert_allclose(quick, full, atol=1e-5)  # same vectors, each in its own row
    np.testing.assert_allclose(builtin.prompt_vectors(texts), full, atol=1e-5)
    assert not np.allclose(quick[0], quick[1])


def test_the_data_cards_captions_come_with_the_encoders_vectors(builtin):
    from stepthrough.builtin.datacard import card_captions

    # ranking the card's 7,800 captions against a prompt embeds the prompt alone: the captions'
    # vectors ship beside the card, and they are the encoder's own (float16)
    captions = card_captions(builtin.data_card().card)
    assert set(captions) <= set(builtin._caption_vectors())
    rng = np.random.default_rng(0)
    texts = [captions[i] for i in rng.choice(len(captions), 40, replace=False)] + ["doctor", "a doctor"]
    shipped = builtin.prompt_vectors(texts)
    full = builtin.encode_prompts(texts).pooled.numpy()
    np.testing.assert_allclose(shipped, full, atol=5e-4)
    assert ((shipped * full).sum(1) > 0.9999).all()  # unit vectors, the same direction


def test_caption_vectors_from_another_encoder_are_not_used_and_a_damaged_file_is_named(tmp_path, builtin):
    from safetensors.numpy import save

    from stepthrough.builtin.datacard import VECTORS_NAME
    from stepthrough.errors import StepthroughError
    from stepthrough.precompute.models.builtin import BuiltinModel

    for f in builtin.weights_dir.iterdir():
        (tmp_path / f.name).symlink_to(f)
    (tmp_path / VECTORS_NAME).unlink()
    other = {"encoder": "another-encoder", "max_length": "24", "captions": '["doctor"]'}
    (tmp_path / VECTORS_NAME).write_bytes(save({"vectors": np.zeros((1, 384), np.float16)}, metadata=other))
    model = BuiltinModel(tmp_path)
    np.testing.assert_allclose(model.prompt_vectors(["doctor"]), builtin.encode_prompts(["doctor"]).pooled, atol=1e-5)

    (tmp_path / VECTORS_NAME).write_bytes(b"not vectors")
    with pytest.raises(StepthroughError, match=f"{VECTORS_NAME}: not a data card's caption vectors"):
        BuiltinModel(tmp_path).prompt_vectors(["doctor"])


def test_shipped_model_samples_the_same_pictures_from_the_same_seed(builtin):
    from stepthrough.bundle.ids import Job
    from stepthrough.precompute.capture import render

    assert torch.equal(builtin.initial_noise(7), builtin.initial_noise(7))
    assert not torch.equal(builtin.initial_noise(7), builtin.initial_noise(8))
    jobs = [Job(prompt="a doctor", seed=7, steps=3, guidance=4.0)]
    first, second = render(builtin, jobs)[0], render(builtin, jobs)[0]
    assert first.x0.shape == (4, 64, 64, 3)
    assert np.array_equal(first.x0, second.x0)
    assert np.array_equal(first.xt, second.xt)
    assert first.x0[-1].std() > 0  # a picture, not a flat field


def test_min_snr_on_snr_plus_one_keeps_the_steps_near_pure_noise_in_training():
    snr = torch.tensor([0.0, 0.25, 4.0, 20.0, 400.0])
    plain, plus_one = v_loss_weight(snr, 5.0, False), v_loss_weight(snr, 5.0, True)
    assert plain[0] == 0 and plus_one[0] == 1  # pure noise: untrained on SNR alone
    assert torch.allclose(plain[-2:], plus_one[-2:]) and torch.allclose(plus_one[-2:], 5.0 / (snr[-2:] + 1))
    assert (plus_one >= plain).all() and (plus_one <= 1).all()


def test_a_weight_floor_raises_only_the_noisy_steps():
    snr = torch.tensor([0.0, 0.25, 4.0, 20.0, 400.0])
    plain = v_loss_weight(snr, 5.0, False)
    floored = v_loss_weight(snr, 5.0, False, floor=0.15)
    assert floored[0] == 0.15 and torch.isclose(floored[1], torch.tensor(0.2))  # raised only where the plain weight is lower
    assert torch.equal(floored[2:], plain[2:])  # the clear side keeps Min-SNR's γ / (SNR + 1)
