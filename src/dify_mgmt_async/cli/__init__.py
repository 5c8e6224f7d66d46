"""``dify-mgmt``: the command line of the SDK (``pip install 'dify-mgmt-async[cli]'``).

``dify-mgmt <namespace> <method>`` runs one operation (commands built from the generated
namespaces), ``dify-mgmt datasets upload`` ingests a folder with a crash-safe journal, and
``dify-mgmt emulator`` starts the local emulator.
"""

from ._main import app, main

__all__ = ["app", "main"]
