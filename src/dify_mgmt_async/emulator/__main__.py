"""``python -m dify_mgmt_async.emulator --port 5001``: serve the emulator until interrupted."""

from .server import main

main()
