"""Write a tiny, randomly initialised Qwen2-VL (weights, tokenizer, processor) into a folder.

Nothing is downloaded: the config, the byte-level tokenizer, the chat template and the image
processor settings are all made here, so an OpenAI-compatible server such as `vllm serve` can
load the folder offline. The answers are meaningless (random weights), but they are
deterministic for a given seed, and made of printable ASCII only: every other token's row of
the output layer is zero, so its logit is exactly 0 and loses to the best of 95 random
printable logits. Special tokens (end of turn included) are never chosen under greedy decoding,
so generation always runs to `max_tokens` and the answer is never empty.

torch, transformers and tokenizers are imported inside the function: the project's own
dependencies do not include them.

Run as a script to write the model: `python tests/tiny_vlm.py OUT_DIR [--seed N]`.
"""

from __future__ import annotations

import json
from pathlib import Path

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

# Qwen2-VL's chat format: a default system turn, one <|vision_start|><|image_pad|><|vision_end|>
# per image (or video) part, text parts in order, then the assistant turn to complete.
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

PATCH = 14
MERGE = 2
# Every image is resized to at most 112 x 112 pixels: 8 x 8 patches, 16 tokens after merging.
MIN_PIXELS = (PATCH * MERGE) ** 2
MAX_PIXELS = 112 * 112


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte-to-printable-character table, as used by byte-level BPE."""
    bs = list(range(ord("!"), ord("~") + 1))
    bs += list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=True))


def _write_tokenizer(out: Path) -> dict[str, int]:
    """A byte-level tokenizer (one token per byte, no merges) plus Qwen2-VL's special tokens."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    table = _bytes_to_unicode()
    vocab = {table[b]: b for b in range(256)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=4096,
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out)
    # Older and newer transformers both read the template from this file too.
    (out / "chat_template.json").write_text(json.dumps({"chat_template": CHAT_TEMPLATE}, indent=2))
    return {t: tok.token_to_id(t) for t in SPECIAL_TOKENS}


def _write_preprocessor(out: Path) -> None:
    mean = [0.48145466, 0.4578275, 0.40821073]
    std = [0.26862954, 0.26130258, 0.27577711]
    common = {
        "do_resize": True,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "do_convert_rgb": True,
        "image_mean": mean,
        "image_std": std,
        "patch_size": PATCH,
        "temporal_patch_size": 2,
        "merge_size": MERGE,
        "min_pixels": MIN_PIXELS,
        "max_pixels": MAX_PIXELS,
        "size": {"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS},
    }
    image = {**common, "image_processor_type": "Qwen2VLImageProcessor"}
    image["processor_class"] = "Qwen2VLProcessor"
    (out / "preprocessor_config.json").write_text(json.dumps(image, indent=2))
    video = {**common, "video_processor_type": "Qwen2VLVideoProcessor"}
    video["processor_class"] = "Qwen2VLProcessor"
    (out / "video_preprocessor_config.json").write_text(json.dumps(video, indent=2))


def write_tiny_qwen2_vl(out: str | Path, seed: int = 0) -> Path:
    """Write the tiny model into `out` (created if missing) and return its path.

    Text model: hidden 128, 2 layers, 2 heads of 64 (the CPU attention backend of vLLM takes
    head sizes from 32 up), 1 KV head. Vision tower: depth 1, embed_dim 32, patch 14, merge 2.
    About 0.44 M parameters (1.8 MB of float32 safetensors).
    """
    import torch
    from transformers import GenerationConfig, Qwen2VLConfig, Qwen2VLForConditionalGeneration

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ids = _write_tokenizer(out)
    vocab_size = 256 + len(SPECIAL_TOKENS)
    _write_preprocessor(out)

    hidden, heads = 128, 2
    head_dim = hidden // heads
    text = {
        "vocab_size": vocab_size,
        "hidden_size": hidden,
        "intermediate_size": 256,
        "num_hidden_layers": 2,
        "num_attention_heads": heads,
        "num_key_value_heads": 1,
        "hidden_act": "silu",
        "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-6,
        "use_sliding_window": False,
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
        # Multimodal RoPE: temporal, height and width sections add up to head_dim / 2.
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 1_000_000.0,
            "mrope_section": [8, 12, 12],
        },
    }
    assert sum(text["rope_parameters"]["mrope_section"]) * 2 == head_dim
    vision = {
        "depth": 1,
        "embed_dim": 32,
        "hidden_size": hidden,  # the merger projects vision features to the text width
        "hidden_act": "quick_gelu",
        "mlp_ratio": 2,
        "num_heads": 2,
        "in_channels": 3,
        "patch_size": PATCH,
        "spatial_merge_size": MERGE,
        "temporal_patch_size": 2,
    }
    config = Qwen2VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )

    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(config).to(torch.float32).eval()
    with torch.no_grad():
        head = model.lm_head.weight  # (vocab, hidden)
        keep = torch.zeros(vocab_size, dtype=torch.bool)
        keep[0x20:0x7F] = True  # token id == byte value below 256: space to tilde
        head[~keep] = 0.0
        # Sharper than the initial 0.02 spread, so token probabilities (the confidence the
        # annotate client reports) spread over roughly 0.3 to 1 rather than near 1/95.
        head[keep] *= 10.0
    model.config.torch_dtype = torch.float32
    model.save_pretrained(out, safe_serialization=True)
    GenerationConfig(
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
        do_sample=False,
    ).save_pretrained(out)
    return out


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(write_tiny_qwen2_vl(args.out, seed=args.seed))
