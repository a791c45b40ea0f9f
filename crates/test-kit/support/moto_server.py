"""Runs moto's server (DynamoDB, Secrets Manager, ...) on a free loopback port for the tests.

Prints the endpoint URL on its first line, then serves until its standard input closes, which
happens when the test process that started it exits, however it exits. A missing moto is an
error (exit 3), never a silent skip.
"""

import logging
import sys

try:
    from moto.server import ThreadedMotoServer
except ImportError:
    print("moto is not installed: run pip install 'moto[server]' (the test command does)", file=sys.stderr)
    sys.exit(3)

# One log line per request served would drown the test output.
logging.getLogger("werkzeug").setLevel(logging.ERROR)

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
print(f"http://{host}:{port}", flush=True)
sys.stdin.read()
server.stop()
