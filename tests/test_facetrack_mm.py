"""``facetrack-mm``: a checkpoint that ships its own modelling code, loaded through transformers' remote-code path.

FaceTrack-MM's weights are not public, so the test writes a tiny checkpoint of the kind such a
release would be: ``config.json`` with an ``auto_map`` pointing at a modelling file in the same
directory, a processor class of its own (``processor_config.json``'s ``auto_map``), a tokenizer
trained on the spot and random weights. The processor takes the tracked face crops as
``face_videos`` and gives each frame and each crop one placeholder token that the model fills with
a projection of its pixels, as a video MLLM with "a few extra face tokens" does.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from fecbench_adapters.facetrack_mm import UNRELEASED, FaceTrackMMAdapter  # noqa: E402
from tiny_models import trained_byte_bpe  # noqa: E402
from transformers import PreTrainedTokenizerFast  # noqa: E402

from fecbench.adapter import GenerationConfig, VideoRequest  # noqa: E402
from fecbench.demo.writer import write_mp4  # noqa: E402
from fecbench.errors import ConfigError  # noqa: E402
from fecbench.facetrack.synthetic import Person, Scene  # noqa: E402
from fecbench.plugins import load_adapter  # noqa: E402
from fecbench.video.decode import decode_clip  # noqa: E402
from fecbench.video.protocol import FrameProtocol  # noqa: E402

MODELING = '''\
"""A tiny FaceTrack-MM-like model: a Llama decoder whose <video> and <face> tokens carry pixel features."""
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM


class TinyFaceTrackConfig(LlamaConfig):
    model_type = "tiny_facetrack_mm"

    def __init__(self, video_token_id=0, face_token_id=0, patch=8, **kwargs):
        self.video_token_id = video_token_id
        self.face_token_id = face_token_id
        self.patch = patch
        super().__init__(**kwargs)


class TinyFaceTrackModel(LlamaForCausalLM):
    config_class = TinyFaceTrackConfig

    def __init__(self, config):
        super().__init__(config)
        pixels = 3 * config.patch * config.patch
        self.video_proj = nn.Linear(pixels, config.hidden_size)
        self.face_proj = nn.Linear(pixels, config.hidden_size)
        self.post_init()

    def forward(self, input_ids=None, pixel_values_videos=None, face_pixel_values=None, inputs_embeds=None, **kwargs):
        if inputs_embeds is None:
            inputs_embeds = self.get_input_embeddings()(input_ids)
            for token_id, pixels, project in (
                (self.config.video_token_id, pixel_values_videos, self.video_proj),
                (self.config.face_token_id, face_pixel_values, self.face_proj),
            ):
                slots = input_ids == token_id
                if pixels is not None and slots.any():
                    features = project(pixels.flatten(1).to(inputs_embeds.dtype))
                    inputs_embeds = inputs_embeds.masked_scatter(slots[..., None], features)
        return super().forward(inputs_embeds=inputs_embeds, **kwargs)
'''

PROCESSING = '''\
"""Processor of the tiny checkpoint: one <video> token per frame, one <face> token per face crop."""
import numpy as np
import torch
from transformers import BatchFeature
from transformers.processing_utils import ProcessorMixin


class TinyFaceTrackProcessor(ProcessorMixin):
    def __init__(self, tokenizer=None, patch=8, chat_template=None):
        self.patch = patch
        self.calls = []
        super().__init__(tokenizer, chat_template=chat_template)

    def _pixels(self, clip):
        frames = torch.from_numpy(np.ascontiguousarray(clip)).permute(0, 3, 1, 2).float() / 255.0
        return torch.nn.functional.interpolate(frames, size=(self.patch, self.patch), mode="area")

    def __call__(self, text, videos, face_videos=None, padding=True, return_tensors="pt"):
        faces = face_videos if face_videos is not None else [None] * len(text)
        self.calls.append([None if f is None else np.asarray(f).shape for f in faces])
        prompts = [
            t.replace("<video>", "<video>" * len(v) + "<face>" * (0 if f is None else len(f)), 1)
            for t, v, f in zip(text, videos, faces)
        ]
        data = dict(self.tokenizer(prompts, padding=padding, return_tensors=return_tensors))
        data["pixel_values_videos"] = torch.cat([self._pixels(v) for v in videos])
        present = [f for f in faces if f is not None]
        if present:
            data["face_pixel_values"] = torch.cat([self._pixels(f) for f in present])
        return BatchFeature(data)
'''

CHAT_TEMPLATE = (
    "{% for m in messages %}<|user|>{% for c in m['content'] %}{% if c['type'] == 'video' %}<video>"
    "{% else %}{{ c['text'] }}{% endif %}{% endfor %}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIAL = ("<pad>", "<eos>", "<video>", "<face>", "<|user|>", "<|assistant|>")


def build_remote_checkpoint(directory: Path, seed: int = 0) -> Path:
    """Write the tiny checkpoint: code files, config with auto_map, processor config, tokenizer, random weights."""
    directory.mkdir(parents=True)
    (directory / "modeling_tiny_facetrack.py").write_text(MODELING)
    (directory / "processing_tiny_facetrack.py").write_text(PROCESSING)
    corpus = ("The woman smiles, then raises her eyebrows and opens her mouth.", "Describe the face.")
    bpe = trained_byte_bpe(SPECIAL, vocab_size=300, corpus=corpus, repeats=40)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, pad_token="<pad>", eos_token="<eos>")
    tokenizer.save_pretrained(directory)
    spec = importlib.util.spec_from_file_location("tiny_facetrack_build", directory / "modeling_tiny_facetrack.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL}
    config = module.TinyFaceTrackConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        pad_token_id=ids["<pad>"],
        eos_token_id=ids["<eos>"],
        bos_token_id=ids["<eos>"],
        video_token_id=ids["<video>"],
        face_token_id=ids["<face>"],
    )
    torch.manual_seed(seed)
    module.TinyFaceTrackModel(config).save_pretrained(directory)
    saved = json.loads((directory / "config.json").read_text())
    saved["auto_map"] = {
        "AutoConfig": "modeling_tiny_facetrack.TinyFaceTrackConfig",
        "AutoModel": "modeling_tiny_facetrack.TinyFaceTrackModel",
    }
    (directory / "config.json").write_text(json.dumps(saved, indent=1))
    processor_config = {"auto_map": {"AutoProcessor": "processing_tiny_facetrack.TinyFaceTrackProcessor"}, "patch": 8}
    (directory / "processor_config.json").write_text(json.dumps(processor_config))
    (directory / "chat_template.jinja").write_text(CHAT_TEMPLATE)
    return directory


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_remote_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-facetrack-mm")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[VideoRequest]:
    folder = tmp_path_factory.mktemp("mm-clips")
    scenes = {
        "two": Scene(256, 192, [Person((110, 90), (130, 95), 64), Person((215, 50), (205, 55), 34, mirror=True)]),
        "nobody": Scene(256, 192, [], seed=3),
        "one": Scene(256, 192, [Person((128, 96), (120, 100), 70)], seed=4),
    }
    requests = []
    for name, scene in scenes.items():
        write_mp4(folder / f"{name}.mp4", scene.render(16), 8)
        sampled = decode_clip(folder / f"{name}.mp4", FrameProtocol(num_frames=4))
        requests.append(VideoRequest(name, sampled.frames, "Describe the face.", list(sampled.timestamps)))
    return requests


@pytest.fixture(scope="module")
def adapter(checkpoint: Path) -> FaceTrackMMAdapter:
    return FaceTrackMMAdapter(str(checkpoint), device="cpu", face_size=32)


def test_without_a_checkpoint_it_explains_that_the_weights_are_unreleased() -> None:
    with pytest.raises(ConfigError) as caught:
        load_adapter("facetrack-mm", {})
    assert str(caught.value) == UNRELEASED
    assert "not released" in UNRELEASED and "--model facetrack:qwen2-vl" in UNRELEASED
    with pytest.raises(ConfigError, match="checkpoint directory '/no/such/ckpt' does not exist"):
        load_adapter("facetrack-mm", {"pretrained": "/no/such/ckpt"})


def test_a_hub_id_that_cannot_be_reached_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # read once at import; set it for real
    with pytest.raises(ConfigError, match="facetrack-mm: checkpoint 'someone/facetrack-mm-7b' is not in the local"):
        load_adapter("facetrack-mm", {"pretrained": "someone/facetrack-mm-7b", "device": "cpu"})


def test_the_checkpoint_code_is_loaded_through_the_remote_code_path(adapter: FaceTrackMMAdapter) -> None:
    assert type(adapter.model).__name__ == "TinyFaceTrackModel"
    assert type(adapter.model).__module__.startswith("transformers_modules.")
    assert type(adapter.processor).__module__.startswith("transformers_modules.")
    described = adapter.describe()
    assert described["remote_code"] is True and described["auto_class"] == "AutoModel"
    assert described["faces_passed"] is True  # the processor's __call__ names face_videos


def test_generate_passes_the_face_crops_and_returns_text(
    adapter: FaceTrackMMAdapter, clips: list[VideoRequest]
) -> None:
    config = GenerationConfig(max_new_tokens=6)
    captions = adapter.generate(clips, config)
    assert len(captions) == 3 and all(isinstance(c, str) for c in captions)
    assert adapter.processor.calls[-1] == [(4, 32, 32, 3), None, (4, 32, 32, 3)]  # no face in "nobody"
    # Batching never changes a caption (left padding, attention mask).
    assert [adapter.generate([clip], config)[0] for clip in clips] == captions


def test_the_face_crops_change_what_the_model_sees(checkpoint: Path, clips: list[VideoRequest]) -> None:
    without = FaceTrackMMAdapter(str(checkpoint), device="cpu", face_size=32, faces=False)
    with_faces = FaceTrackMMAdapter(str(checkpoint), device="cpu", face_size=32)
    assert without.processor.calls == [] and without.describe()["faces_passed"] is False
    inputs = with_faces.prepare_inputs(clips[:1])
    plain = without.prepare_inputs(clips[:1])
    face_id = with_faces.model.config.face_token_id
    assert int((inputs["input_ids"] == face_id).sum()) == 4 and int((plain["input_ids"] == face_id).sum()) == 0
    with torch.inference_mode():
        logits = with_faces.model(**inputs).logits[0, -1]
        plain_logits = without.model(**plain).logits[0, -1]
    assert not torch.allclose(logits, plain_logits)


def test_bad_arguments_are_refused(checkpoint: Path) -> None:
    with pytest.raises(ConfigError, match="faces='maybe' must be auto, true or false"):
        FaceTrackMMAdapter(str(checkpoint), faces="maybe")
    with pytest.raises(ConfigError, match="face_size=4"):
        FaceTrackMMAdapter(str(checkpoint), face_size=4)


def test_fecbench_run_end_to_end_on_the_demo_set(checkpoint: Path, tmp_path: Path) -> None:
    """The command a user types, on a checkpoint in the documented layout: predictions for every demo clip."""
    cli = [sys.executable, "-m", "fecbench.cli"]
    subprocess.run([*cli, "demo", str(tmp_path / "demo"), "--clips", "2"], check=True, capture_output=True)
    command = [*cli, "run", "--model", "facetrack-mm", "--model-args", f"pretrained={checkpoint},device=cpu"]
    command += [
        "--annotations",
        str(tmp_path / "demo" / "annotations.json"),
        "--video-root",
        str(tmp_path / "demo" / "videos"),
    ]
    command += ["--frames", "4", "--max-new-tokens", "6", "--no-score", "--output", str(tmp_path / "run")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert all(r["prediction"].strip() for r in rows)
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["model"]["name"] == "facetrack-mm"
