FROM python:3.11-slim
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY services ./services
COPY audit ./audit
COPY voter_registry ./voter_registry
COPY polling ./polling
COPY results ./results
RUN uv sync --frozen --no-dev
ENV PATH=/app/.venv/bin:$PATH
EXPOSE 8000
CMD ["primaires", "serve"]
