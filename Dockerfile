FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/tmp/matplotlib \
    FLASK_APP=wsgi.py \
    VENDORPULSE_ENV=production \
    INSTANCE_PATH=/data

WORKDIR /srv/vendorpulse
COPY requirements.txt ./
RUN pip install -r requirements.txt

RUN useradd --create-home --uid 10001 vendorpulse \
 && mkdir -p /data \
 && chown vendorpulse:vendorpulse /data

COPY app ./app
COPY surveys ./surveys
COPY migrations ./migrations
COPY wsgi.py gunicorn.conf.py docker-entrypoint.sh ./

USER vendorpulse
VOLUME ["/data"]
EXPOSE 8000
# The web role answers /healthz; a worker has no port, and its container ends when the dispatcher does
# (the admin pages warn when no pass has run for ten minutes).
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if b'dispatch' in open('/proc/1/cmdline','rb').read() or urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"
ENTRYPOINT ["./docker-entrypoint.sh"]
# `web` (gunicorn, after migrations) or `worker` (the dispatcher): see docker-entrypoint.sh.
CMD ["web"]
