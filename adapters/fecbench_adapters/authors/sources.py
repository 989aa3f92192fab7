"""Where each model's code comes from: repository, pinned commit, and the install instruction.

Kept apart from the adapters (and free of heavy imports) so that the registrations in
``fecbench_adapters.specs_authors`` can show the install hints without importing any adapter.
Each hint is a shell line that can be pasted as it is: clone, check out the commit the adapter was
written against, install as the repository documents it, and (for repositories that are not
packages) export the variable that tells the adapter where the clone is; what cannot be a command
follows as a ``#`` comment.
"""

from __future__ import annotations

from dataclasses import dataclass

from fecbench.model_env.recipe import CLONE, EnvRecipe


@dataclass(frozen=True)
class AuthorsCode:
    """Where a model's code comes from, and the exact way to install it."""

    project: str  # the authors' name for it, e.g. "VideoLLaMA2"
    repo: str  # https URL of the repository
    commit: str  # the commit this adapter was written against (full sha)
    directory: str  # the clone's folder name
    install: str  # the repository's documented install step, run inside the clone
    note: str = ""  # what the user must know that is not a command
    code_dir_env: str | None = None  # for repositories that are not packages: env var naming the clone
    code_subdir: str = ""  # where in the clone the code lives, when not at its root
    # What `fecbench env create` needs beyond the install step (see fecbench.model_env.recipe.EnvRecipe):
    python: str = ""  # the Python version the repository's README installs with, e.g. "3.10" ("": the driver's)
    pip_before: tuple[str, ...] = ()  # requirements installed before the install step (e.g. its torch build)
    pip_after: tuple[str, ...] = ()  # pins installed after it

    @property
    def hint(self) -> str:
        """The install instruction shown by ``fecbench models`` and in the error of a run that lacks the code."""
        steps = [f"git clone {self.repo} {self.directory}", f"cd {self.directory}", f"git checkout {self.commit[:12]}"]
        steps.append(self.install)
        if self.code_dir_env:
            where = f"$PWD/{self.code_subdir}" if self.code_subdir else "$PWD"
            steps.append(f"export {self.code_dir_env}={where}")
        line = " && ".join(steps)
        return f"{line}  # {self.note}" if self.note else line

    def recipe(self) -> EnvRecipe:
        """How ``fecbench env create`` builds this model's environment: the same clone, commit and install."""
        environment: tuple[tuple[str, str], ...] = ()
        if self.code_dir_env:
            where = f"{CLONE}/{self.code_subdir}" if self.code_subdir else CLONE
            environment = ((self.code_dir_env, where),)
        return EnvRecipe(
            project=self.project,
            repo=self.repo,
            commit=self.commit,
            directory=self.directory,
            install=self.install,
            python=self.python,
            pip_before=self.pip_before,
            pip_after=self.pip_after,
            environment=environment,
            note=self.note,
        )


OWN_ENV = "it pins old torch/transformers releases: use an environment of its own"

# 1953283 (2025-01-08) is the last commit whose model loads: the next one, 22a4a31 "Refactor vision
# tower" (kept in tag v1.1 and in main's head c0bb03a), sets attn_implementation="flash_attention_2" on
# the CLIP/SigLIP tower, which the pinned transformers 4.40.0 refuses for these models (any device).
VIDEOLLAMA2 = AuthorsCode(
    project="VideoLLaMA2",
    repo="https://github.com/DAMO-NLP-SG/VideoLLaMA2",
    commit="1953283f6786f6f2825ce0f09d356a646ebbb280",
    directory="VideoLLaMA2",
    install="pip install -e .",
    note=f"torch 2.2.0, transformers 4.40.0; {OWN_ENV}",
    python="3.11",
    # Its torch pin first (the README's step assumes it), then releases of its unpinned dependencies from
    # the commit's month: today's openai/wandb send pip's resolver backtracking through hundreds of versions.
    pip_before=(
        "torch==2.2.0",
        "torchvision==0.17.0",
        "openai==1.59.9",
        "fastapi==0.115.6",
        "uvicorn==0.34.0",
        "wandb==0.19.4",
        "tensorboard==2.18.0",
        "pydantic==2.10.5",
        "requests==2.32.3",
    ),
)

VIDEOCHAT2 = AuthorsCode(
    project="VideoChat2",
    repo="https://github.com/OpenGVLab/Ask-Anything",
    commit="4dd8210b030374bb0c510a57dfbe916f70d3ef71",
    directory="Ask-Anything",
    install="pip install -r video_chat2/requirements.txt",
    note="set the UMT-L/Q-Former and Mistral-7B paths in video_chat2/configs/config_mistral.json; " + OWN_ENV,
    code_dir_env="FECBENCH_VIDEOCHAT2_CODE",
    code_subdir="video_chat2",
)

LLAMA_VID = AuthorsCode(
    project="LLaMA-VID",
    repo="https://github.com/dvlab-research/LLaMA-VID",
    commit="b3d3ae2b1c116c1c0ce364197609133fa3df2d9b",
    directory="LLaMA-VID",
    install="pip install -e .",
    note=f"also installs LLaVA from git; torch 2.0.1, transformers 4.31.0; {OWN_ENV}",
)

PLLAVA = AuthorsCode(
    project="PLLaVA",
    repo="https://github.com/magic-research/PLLaVA",
    commit="6f49fd281a855c4fa3103595ba2800a4dce7ec88",
    directory="PLLaVA",
    install="pip install -r requirements.txt",
    note=OWN_ENV,
    code_dir_env="FECBENCH_PLLAVA_CODE",
)

SHAREGPT4VIDEO = AuthorsCode(
    project="ShareGPT4Video",
    repo="https://github.com/ShareGPT4Omni/ShareGPT4Video",
    commit="7e02ee61506d2104b85d1e301a2fde4a637ffe1f",
    directory="ShareGPT4Video",
    install="pip install -e .",
    note=f"installs their LLaVA fork as the package 'llava'; torch 2.1.2, transformers 4.37.2; {OWN_ENV}",
    python="3.11",
    # Its torch pin first; numpy below 2 (torch 2.1 was built against numpy 1); its unpinned dependencies
    # at releases from the commit's month (October 2024).
    pip_before=(
        "torch==2.1.2",
        "torchvision==0.16.2",
        "numpy==1.26.4",
        "peft==0.13.0",
        "bitsandbytes==0.44.1",
        "pydantic==2.9.2",
        "openai==1.51.2",
        "fastapi==0.115.0",
        "uvicorn==0.31.0",
        "requests==2.32.3",
    ),
)

CHAT_UNIVI = AuthorsCode(
    project="Chat-UniVi",
    repo="https://github.com/PKU-YuanGroup/Chat-UniVi",
    commit="ec0b3db2d98dafb5c6bd72f626f4089f15727273",
    directory="Chat-UniVi",
    install="pip install -e .",
    note=f"transformers 4.31.0; {OWN_ENV}",
)

ST_LLM = AuthorsCode(
    project="ST-LLM",
    repo="https://github.com/TencentARC/ST-LLM",
    commit="ae4525805fa4f4ec6d2e02a0255f48bc8a501ece",
    directory="ST-LLM",
    install="pip install -r requirement.txt",
    note=OWN_ENV,
    code_dir_env="FECBENCH_STLLM_CODE",
)

# The first Tarsier lives on the "tarsier" branch; main now holds Tarsier2.
TARSIER = AuthorsCode(
    project="Tarsier",
    repo="https://github.com/bytedance/tarsier",
    commit="e3f27ef6d901422db471efbf0c8e0ae502fea0f1",
    directory="tarsier",
    install="bash setup.sh",
    note=OWN_ENV,
    code_dir_env="FECBENCH_TARSIER_CODE",
)

VIDEOLLAMA = AuthorsCode(
    project="Video-LLaMA",
    repo="https://github.com/DAMO-NLP-SG/Video-LLaMA",
    commit="64888c0a77e8e66af606c37629fbbf79c4582959",
    directory="Video-LLaMA",
    install="pip install -e .",
    note=f"the repository documents a conda environment: conda env create -f environment.yml; {OWN_ENV}",
    code_dir_env="FECBENCH_VIDEOLLAMA_CODE",
)

VIDEOCHAT = AuthorsCode(
    project="VideoChat",
    repo="https://github.com/OpenGVLab/Ask-Anything",
    commit="4dd8210b030374bb0c510a57dfbe916f70d3ef71",
    directory="Ask-Anything",
    install="pip install -r video_chat/requirements.txt",
    note="set the EVA-ViT, Q-Former, Vicuna and VideoChat weight paths in video_chat/configs/config_7b.json; "
    + OWN_ENV,
    code_dir_env="FECBENCH_VIDEOCHAT_CODE",
    code_subdir="video_chat",
)

HUMANOMNI = AuthorsCode(
    project="HumanOmni",
    repo="https://github.com/HumanMLLM/HumanOmni",
    commit="26fa491492d39a66eef0d9e805c7bf33bf2cb0ee",
    directory="HumanOmni",
    # requirements.txt as written cannot install: transformers==4.45.0 needs tokenizers 0.20, it pins 0.19.1;
    # numpy==1.22.2 has no wheel for Python 3.11. Those two lines are left out (numpy 1.26.4 comes first), and
    # h5py and ipdb, which humanomni/model/humanomni_arch.py imports but the file does not list, are added.
    install="grep -vE '^(tokenizers|numpy)==' requirements.txt | pip install -r /dev/stdin h5py==3.12.1 ipdb==0.13.13",
    note="its README installs with Python 3.10 and pip install -r requirements.txt, which does not resolve; " + OWN_ENV,
    code_dir_env="FECBENCH_HUMANOMNI_CODE",
    python="3.11",
    pip_before=(
        "torch==2.2.1",
        "torchvision==0.17.1",
        "numpy==1.26.4",
        "openai==1.65.5",
        "fastapi==0.115.11",
        "uvicorn==0.34.0",
        "wandb==0.16.6",
        "tensorboard==2.19.0",
        "requests==2.32.3",
    ),
)

ALL: tuple[AuthorsCode, ...] = (
    VIDEOLLAMA2,
    VIDEOCHAT2,
    LLAMA_VID,
    PLLAVA,
    SHAREGPT4VIDEO,
    CHAT_UNIVI,
    ST_LLM,
    TARSIER,
    VIDEOLLAMA,
    VIDEOCHAT,
    HUMANOMNI,
)
