"""Tiny random-weight diffusers pipelines built from configs and saved to a folder, as diffusers' own
tests build them: offline, a few seconds each, 16×16 pictures."""

from __future__ import annotations

import json
import string
from pathlib import Path

import torch

LETTERS = string.ascii_lowercase
WIDTH = 32  # text encoders' hidden size


def clip_tokenizer(folder: Path):
    """A CLIPTokenizer from a vocab.json + merges.txt written here: letters, word ends, a few merges."""
    from transformers import CLIPTokenizer

    merges = ["d o", "c a", "a t</w>", "r e", "o r</w>"]
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for token in [*LETTERS, *(c + "</w>" for c in LETTERS), *(m.replace(" ", "") for m in merges)]:
        vocab.setdefault(token, len(vocab))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    return CLIPTokenizer.from_pretrained(folder, model_max_length=16)


def t5_tokenizer(max_length: int = 32):
    """A T5 tokenizer from an in-memory unigram vocabulary of letters."""
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -3.0)]
    pieces += [("▁" + c, -1.0) for c in LETTERS] + [(c, -2.0) for c in LETTERS]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=max_length)


def clip_config(**extra):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        hidden_size=WIDTH,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=100,
        max_position_embeddings=16,
        **extra,
    )


def t5_encoder(d_model: int = WIDTH):
    from transformers import T5Config, T5EncoderModel

    config = T5Config(vocab_size=64, d_model=d_model, d_kv=8, d_ff=37, num_layers=2, num_heads=4)
    return T5EncoderModel(config).eval()


def vae(latent_channels: int = 4, **extra):
    """16×16 pictures from 8×8 latents (two blocks: scale factor 2)."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=(8, 8),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        latent_channels=latent_channels,
        norm_num_groups=4,
        sample_size=16,
        **extra,
    ).eval()


def tiny_vae_for_previews(folder: Path, latent_channels: int = 4) -> Path:
    """An AutoencoderTiny with the same scale factor (2) as `vae`."""
    from diffusers import AutoencoderTiny

    torch.manual_seed(0)
    AutoencoderTiny(
        latent_channels=latent_channels,
        encoder_block_out_channels=(8, 8),
        decoder_block_out_channels=(8, 8),
        num_encoder_blocks=(1, 1),
        num_decoder_blocks=(1, 1),
    ).save_pretrained(folder)
    return folder


def unet(**extra):
    from diffusers import UNet2DConditionModel

    options = {
        "sample_size": 8,
        "in_channels": 4,
        "out_channels": 4,
        "layers_per_block": 1,
        "block_out_channels": (8, 16),
        "down_block_types": ("CrossAttnDownBlock2D", "DownBlock2D"),
        "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D"),
        "cross_attention_dim": WIDTH,
        "attention_head_dim": 4,
        "norm_num_groups": 4,
    }
    return UNet2DConditionModel(**{**options, **extra}).eval()


def stable_diffusion(
    folder: Path, prediction_type: str = "epsilon", scheduler: str = "PNDMScheduler", image_side: int = 16
) -> Path:
    """SD 1.x/2.x layout with the PNDM scheduler SD ships (v-prediction like SD 2.x when asked)."""
    import diffusers
    from diffusers import StableDiffusionPipeline
    from transformers import CLIPTextModel

    torch.manual_seed(0)
    schedule = getattr(diffusers, scheduler)(
        beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, prediction_type=prediction_type
    )
    pipe = StableDiffusionPipeline(
        unet=unet(sample_size=image_side // 2),
        vae=vae(),
        text_encoder=CLIPTextModel(clip_config()).eval(),
        tokenizer=clip_tokenizer(folder.parent / f"{folder.name}-vocab"),
        scheduler=schedule,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder)
    return folder


def stable_diffusion_xl(folder: Path) -> Path:
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(0)
    tokenizer = clip_tokenizer(folder.parent / f"{folder.name}-vocab")
    pipe = StableDiffusionXLPipeline(
        unet=unet(
            attention_head_dim=(2, 4),
            cross_attention_dim=2 * WIDTH,  # both encoders' states side by side
            addition_embed_type="text_time",
            addition_time_embed_dim=8,
            projection_class_embeddings_input_dim=WIDTH + 6 * 8,  # pooled text + 6 size numbers
        ),
        vae=vae(),
        text_encoder=CLIPTextModel(clip_config()).eval(),
        text_encoder_2=CLIPTextModelWithProjection(clip_config(projection_dim=WIDTH)).eval(),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        scheduler=EulerDiscreteScheduler(
            beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, timestep_spacing="leading"
        ),
    )
    pipe.save_pretrained(folder)
    return folder


def pixart(folder: Path, sigma: bool = False, sample_size: int = 8) -> Path:
    """PixArt-α or Σ with the DPM-Solver scheduler they ship (which stepthrough swaps for DDIM).

    sample_size=128 is PixArt-α 1024's config, which also conditions on the picture's size.
    """
    from diffusers import (
        DPMSolverMultistepScheduler,
        PixArtAlphaPipeline,
        PixArtSigmaPipeline,
        PixArtTransformer2DModel,
    )

    torch.manual_seed(0)
    transformer = PixArtTransformer2DModel(
        sample_size=sample_size,
        num_layers=2,
        patch_size=2,
        attention_head_dim=8,
        num_attention_heads=3,  # inner width 24: the size conditioning splits it in three
        caption_channels=WIDTH,
        in_channels=4,
        cross_attention_dim=24,
        out_channels=8,  # predicts noise and variance, as the real ones do
        attention_bias=True,
        activation_fn="gelu-approximate",
        num_embeds_ada_norm=1000,
        norm_type="ada_norm_single",
        norm_elementwise_affine=False,
        norm_eps=1e-6,
    ).eval()
    pipeline = PixArtSigmaPipeline if sigma else PixArtAlphaPipeline
    pipe = pipeline(
        transformer=transformer,
        vae=vae(),
        text_encoder=t5_encoder(),
        tokenizer=t5_tokenizer(),
        scheduler=DPMSolverMultistepScheduler(),
    )
    pipe.save_pretrained(folder)
    return folder


def stable_diffusion_3(folder: Path) -> Path:
    from diffusers import FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel, StableDiffusion3Pipeline
    from transformers import CLIPTextModelWithProjection

    torch.manual_seed(0)
    tokenizer = clip_tokenizer(folder.parent / f"{folder.name}-vocab")
    pipe = StableDiffusion3Pipeline(
        transformer=SD3Transformer2DModel(
            sample_size=8,
            patch_size=1,
            in_channels=4,
            num_layers=1,
            attention_head_dim=8,
            num_attention_heads=4,
            caption_projection_dim=WIDTH,
            joint_attention_dim=WIDTH,
            pooled_projection_dim=2 * WIDTH,
            out_channels=4,
        ).eval(),
        vae=vae(shift_factor=0.0609, scaling_factor=1.5035),
        text_encoder=CLIPTextModelWithProjection(clip_config(projection_dim=WIDTH)).eval(),
        text_encoder_2=CLIPTextModelWithProjection(clip_config(projection_dim=WIDTH)).eval(),
        text_encoder_3=t5_encoder(),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        tokenizer_3=t5_tokenizer(),
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
    )
    pipe.save_pretrained(folder)
    return folder


def flux(folder: Path) -> Path:
    """Flux-dev layout: guidance-distilled transformer (guidance_embeds), packed 2×2 latents."""
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextModel

    torch.manual_seed(0)
    pipe = FluxPipeline(
        transformer=FluxTransformer2DModel(
            patch_size=1,
            in_channels=16,  # 4 latent channels × a 2×2 patch
            num_layers=1,
            num_single_layers=1,
            attention_head_dim=16,
            num_attention_heads=2,
            joint_attention_dim=WIDTH,
            pooled_projection_dim=WIDTH,
            axes_dims_rope=[4, 4, 8],
            guidance_embeds=True,
        ).eval(),
        vae=vae(shift_factor=0.0609, scaling_factor=1.5035),
        text_encoder=CLIPTextModel(clip_config()).eval(),
        text_encoder_2=t5_encoder(),
        tokenizer=clip_tokenizer(folder.parent / f"{folder.name}-vocab"),
        tokenizer_2=t5_tokenizer(),
        scheduler=FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, shift=3.0),
    )
    pipe.save_pretrained(folder)
    return folder


def prx(folder: Path) -> Path:
    """PRX with a T5Gemma encoder, at 16×16 (its default resolution set in the pipeline config)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, PRXPipeline
    from diffusers.models.transformers.transformer_prx import PRXTransformer2DModel
    from transformers.models.t5gemma.configuration_t5gemma import T5GemmaConfig, T5GemmaModuleConfig
    from transformers.models.t5gemma.modeling_t5gemma import T5GemmaEncoder

    torch.manual_seed(0)
    encoder = {
        "vocab_size": 64,
        "hidden_size": 8,
        "intermediate_size": 16,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "head_dim": 4,
        "max_position_embeddings": 64,
        "layer_types": ["full_attention"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "dropout_rate": 0.0,
        "hidden_activation": "gelu_pytorch_tanh",
        "rms_norm_eps": 1e-06,
        "attn_logit_softcapping": 50.0,
        "final_logit_softcapping": 30.0,
        "query_pre_attn_scalar": 4,
        "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"},
        "sliding_window": 4096,
    }
    # The top-level config is what from_pretrained reads back; transformers 5 also wants is_decoder on it.
    config = T5GemmaConfig(
        encoder=T5GemmaModuleConfig(**encoder), is_encoder_decoder=False, is_decoder=False, **encoder
    )
    transformer = PRXTransformer2DModel(
        patch_size=1,
        in_channels=4,
        context_in_dim=8,
        hidden_size=8,
        mlp_ratio=2.0,
        num_heads=2,
        depth=1,
        axes_dim=[2, 2],
    ).eval()
    with torch.no_grad():  # zero-initialised layers (as for training) would make the text irrelevant
        for parameter in transformer.parameters():
            if not parameter.any():
                parameter.normal_(std=0.5)
    pipe = PRXPipeline(
        transformer=transformer,
        vae=vae(shift_factor=0.0, scaling_factor=1.0),  # PRX's decode adds shift_factor: no None
        text_encoder=T5GemmaEncoder(config).eval(),
        tokenizer=t5_tokenizer(),
        scheduler=FlowMatchEulerDiscreteScheduler(),
        default_sample_size=16,
    )
    pipe.save_pretrained(folder)
    return folder


BUILDERS = {
    "sd": stable_diffusion,
    "sd-v": lambda folder: stable_diffusion(
        folder, prediction_type="v_prediction", scheduler="DDIMScheduler"
    ),
    "sdxl": stable_diffusion_xl,
    "pixart-alpha": pixart,
    "pixart-sigma": lambda folder: pixart(folder, sigma=True),
    "sd3": stable_diffusion_3,
    "flux": flux,
    "prx": prx,
}
# Variants whose extra code paths the end-to-end tests need not repeat.
VARIANTS = {"pixart-alpha-1024": lambda folder: pixart(folder, sample_size=128)}
