"""gunicorn settings for VendorPulse; every value can be overridden from the environment."""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 9)))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# gunicorn takes the scheme (X-Forwarded-Proto) only from these proxy addresses. The client's address
# (X-Forwarded-For), which rate limits count by, is read by the app itself: see PROXY_FIX_X_FOR.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Survey links are credentials and could de-anonymise answers: the access log shows /s/[token], and for
# survey pages neither the client's address, user agent and referrer nor the time of day; the error log
# redacts tokens too (app/access_log.py, app/logging_filters.py).
logger_class = "app.access_log.RedactingLogger"


def post_worker_init(worker):
    """Load what a worker's first requests would otherwise wait for, and warn about per-worker rate limits.

    The app imports scipy, matplotlib and TextBlob only when a function needs them, so `flask` commands
    start quickly; a web worker loads them here, as it boots, instead of during the first dashboard page
    or survey submission it serves (about 2 s on 2 cores).

    Rate-limit counters kept in memory belong to one worker: with several, each allows the whole limit
    (the sign-in limit of 10 a minute becomes 10 per worker). Say so where the operator looks.
    """
    from app.services import sentiment, stats
    from app.services.charts import figures  # noqa: F401  (imports matplotlib)

    sentiment.analyze("The service desk was quick and helpful.")
    stats.mean_estimate({3: 2, 4: 3}, scale=(1, 5))

    storage = getattr(worker.wsgi, "config", {}).get("RATELIMIT_STORAGE_URI", "")
    if worker.cfg.workers > 1 and storage.startswith("memory://"):
        worker.log.warning(
            "Rate limits are counted in memory by each of the %d workers, so each allows the whole limit: "
            "set RATELIMIT_STORAGE_URI or REDIS_URL to a Redis server (redis://host:6379/0) to share one count.",
            worker.cfg.workers)
