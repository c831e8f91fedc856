"""The floor for bench/http_list.py: a one-line Flask view under the same gunicorn."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, world"
