# Production image: the application and its CLI (migrations, imports, audit tools).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv && useradd --create-home --uid 10001 primaires
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY services ./services
COPY audit ./audit
COPY voter_registry ./voter_registry
COPY polling ./polling
COPY results ./results
RUN uv sync --frozen --no-dev && chown -R primaires /app
USER primaires
ENV PATH="/app/.venv/bin:$PATH" PRIMAIRES_MODE=production
EXPOSE 8000
CMD ["primaires", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "4"]
