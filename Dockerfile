FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY requirements/base.txt requirements/base.txt
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/base.txt

COPY . .
# Hash and compress static files at build time (whitenoise serves them); the key is a build-only dummy.
RUN SECRET_KEY=collectstatic-build-only python manage.py collectstatic --noinput -v0 \
    && useradd --create-home --uid 1000 streamflow && chown -R streamflow /app/var
USER streamflow

EXPOSE 8000
# gthread: a slow CSV reader holds a thread, not a whole worker (and the timeout watches the worker, not the reader)
CMD ["gunicorn", "streamflow.wsgi", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--workers", "3", "--threads", "8", "--timeout", "60", "--access-logfile", "-"]
