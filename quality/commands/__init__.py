"""One module per `quality` command; each exposes `register(app)`."""
