# The site image for docker-compose.yml: the project under gunicorn.
FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY accounts accounts
COPY proxy proxy
COPY config config
COPY templates templates
COPY manage.py ./
COPY dev/sample_api dev/sample_api
# The server extra: gunicorn and prometheus-client are not dependencies of the apps themselves.
RUN pip install --no-cache-dir ".[server]"
# The settings for this workload live in config/gunicorn.py (GUNICORN_BIND, WEB_CONCURRENCY, ...).
CMD ["sh", "-c", "python manage.py migrate --noinput && exec gunicorn -c config/gunicorn.py"]
