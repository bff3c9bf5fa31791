# Veilleur's container image: `docker build -t veilleur .`, then see compose.yaml, or
#   docker run -d --env-file .env -v veilleur-data:/data -v ./watchers.toml:/config/watchers.toml:ro veilleur
# The database (and privacy.key, unless PRIVACY_KEY is set) live in the /data volume.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/data/veilleur.db \
    WATCHERS_FILE=/config/watchers.toml \
    HEALTH_PORT=8080

WORKDIR /app
# The pinned dependencies first: a code change does not reinstall them.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN pip install --no-cache-dir --no-deps . \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin veilleur \
    && mkdir -p /data /config && chown veilleur:veilleur /data

USER veilleur
VOLUME ["/data"]
# 3000: Slack's requests in HTTP mode (PORT); 8080: GET /healthz (HEALTH_PORT), in either mode.
EXPOSE 3000 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['HEALTH_PORT'] + '/healthz', timeout=4)"]
ENTRYPOINT ["veilleur"]
