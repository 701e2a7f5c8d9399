# tffnoise on a GPU host. The CUDA 11.8 / cuDNN 8.7 libraries TensorFlow 2.14 needs come as pip wheels
# (the `gpu` extra, locked in uv.lock), so the base only needs Python 3.11; a TensorFlow GPU base image
# would bring a second TensorFlow beside the locked one. Run with `docker run --gpus all ...`.
FROM python:3.11-slim

RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /opt/tffnoise
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --extra gpu --no-install-project
COPY tffnoise ./tffnoise
COPY tffnoise_tui ./tffnoise_tui
# the recipe files ship inside the package; ./recipes is the same folder, as in a checkout
RUN ln -s tffnoise/recipes/files recipes
RUN uv sync --frozen --no-dev --extra gpu
ENV PATH="/opt/tffnoise/.venv/bin:$PATH" TF_FORCE_GPU_ALLOW_GROWTH=true
ENTRYPOINT ["tffnoise"]
CMD ["--help"]
