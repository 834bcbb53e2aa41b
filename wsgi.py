import gc

gc.disable()  # start-up builds many long-lived objects: collecting while it does only costs time

from app import create_app  # noqa: E402

app = create_app()
gc.freeze()  # keep them out of later collections (and shared copy-on-write between forked workers)
gc.enable()
