# The site image for docker-compose.yml: the project under gunicorn.
FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY accounts accounts
COPY proxy proxy
COPY config config
COPY templates templates
COPY manage.py ./
RUN pip install --no-cache-dir .
# 2 workers x 4 threads suits 2 cores: requests mostly wait on Redis and the provider.
CMD ["sh", "-c", "python manage.py migrate --noinput && exec gunicorn config.wsgi --bind 127.0.0.1:8000 --workers 2 --threads 4 --worker-class gthread"]
