# TechLead webhook server: slim, non-root, with a health check.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY agents ./agents
COPY gates ./gates
COPY config ./config
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
# git: the workspace clones, fetches and pushes through it. bubblewrap: the jail the
# L3/L4 gates run a pull request's code in (it needs user namespaces in the container;
# without them the gates run unsandboxed and say so).
RUN apt-get update \
 && apt-get install -y --no-install-recommends git bubblewrap \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 techlead
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER techlead
WORKDIR /home/techlead
ENV TECHLEAD_DATA_DIR=/home/techlead/data \
    TECHLEAD_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
ENTRYPOINT ["techlead"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
