# The image every wsquake service in docker-compose.yml shares (cloud, apps, glasses,
# locust-master/worker, runner). It installs the project exactly as the README does:
# `python3 dev.py ...` creates .venv and runs `pip install -e '.[dev]'` on first use.
FROM python:3.11-slim

WORKDIR /app
COPY . /app
RUN python3 dev.py run --version

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1
EXPOSE 8002 8089 5557
CMD ["wsquake", "--help"]
